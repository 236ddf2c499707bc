// Azure Service Bus (Standard: sessions and duplicate detection need it) with the app's work
// queues from infra/servicebus-queues.json, which mirrors shared/services/queues.py (a test
// keeps the two equal; docs/servicebus.md explains each property). Keys are disabled: the app
// sends and receives with its identity.
param name string
param location string = resourceGroup().location
param tags object = {}
@description('Principal id of the app identity: Data Sender and Data Receiver on the namespace.')
param appPrincipalId string
@description('Optional: a developer to grant the same roles (for running the app locally against Azure).')
param developerPrincipalId string = ''

var workQueues = loadJsonContent('../../servicebus-queues.json').queues
var roles = {
  sender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // Azure Service Bus Data Sender
  receiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // Azure Service Bus Data Receiver
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

// A message that outlives its time to live goes to the dead-letter subqueue, not away.
resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for queue in workQueues: {
  parent: namespace
  name: queue.name
  properties: union(queue.properties, {
    deadLetteringOnMessageExpiration: true
  })
}]

resource appSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appPrincipalId, roles.sender)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.sender)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appPrincipalId, roles.receiver)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.receiver)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource developerSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(namespace.id, developerPrincipalId, roles.sender)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.sender)
    principalId: developerPrincipalId
    principalType: 'User'
  }
}

resource developerReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(namespace.id, developerPrincipalId, roles.receiver)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.receiver)
    principalId: developerPrincipalId
    principalType: 'User'
  }
}

output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
