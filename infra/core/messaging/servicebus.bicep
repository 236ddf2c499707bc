// Azure Service Bus with the app's work queues from infra/servicebus-queues.json, which mirrors
// shared/services/queues.py (a test keeps the two equal; docs/servicebus.md explains each
// property). Standard (sessions and duplicate detection need it), or Premium with private
// networking: only Premium takes private endpoints. Keys are disabled: the app sends, receives
// and reads queue runtime properties with its identity.
param name string
param location string = resourceGroup().location
param tags object = {}
@description('Principal id of the app identity: Azure Service Bus Data Owner on the namespace.')
param appPrincipalId string
@description('Optional: a person or pipeline to grant Data Sender and Data Receiver (for running the app locally against Azure).')
param developerPrincipalId string = ''
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string = 'User'
@description('Premium, reachable only through its private endpoint (vnetEnabled).')
param privateNetworking bool = false
@description('How long a message may wait unprocessed before it is dead-lettered (ISO 8601).')
param messageTimeToLive string = 'P7D'
@description('Log Analytics workspace receiving the namespace\'s logs and metrics.')
param logAnalyticsWorkspaceId string

var workQueues = loadJsonContent('../../servicebus-queues.json').queues
var roles = {
  // Send, receive and manage: the Functions scale controller and the Service Bus extension
  // read queue runtime properties (message counts) with it, as the official sample grants.
  owner: '090c5cfd-751d-490a-894a-3ce6f1109419' // Azure Service Bus Data Owner
  sender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // Azure Service Bus Data Sender
  receiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // Azure Service Bus Data Receiver
}
var developerRoles = [
  roles.sender
  roles.receiver
]

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: privateNetworking ? {
    name: 'Premium'
    tier: 'Premium'
    capacity: 1
  } : {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
  }
}

// A message that outlives its time to live goes to the dead-letter subqueue, not away; without
// a time to live (Service Bus's default is unbounded) that rule would never apply.
resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for queue in workQueues: {
  parent: namespace
  name: queue.name
  properties: union(queue.properties, {
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
  })
}]

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

resource appOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appPrincipalId, roles.owner)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.owner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource developerAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in developerRoles: if (!empty(developerPrincipalId)) {
  name: guid(namespace.id, developerPrincipalId, role)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}]

output name string = namespace.name
output id string = namespace.id
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output queueNames array = [for queue in workQueues: queue.name]
