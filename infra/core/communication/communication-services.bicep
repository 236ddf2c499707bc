// Azure Communication Services (the ACS SMS channel, and email from an Azure-managed domain) and
// the Event Grid system topic its SMS
// events are published on. The subscription that delivers them to the app is
// infra/app/acs-events.bicep: it can only be created once the app answers the handshake.
param name string
param systemTopicName string
param tags object = {}
@description('Where ACS stores its data at rest, e.g. United States, Europe, UK, Australia.')
param dataLocation string = 'United States'
@description('Principal id of the app identity, which sends SMS through ACS with Entra ID instead of an access key.')
param appPrincipalId string
@allowed([
  'sms-sender'
  'service-owner'
])
@description('sms-sender: a custom role that reads and uses the resource but cannot list or regenerate its keys. service-owner: the built-in Communication and Email Service Owner, should ACS refuse the custom role.')
param senderRole string = 'sms-sender'
@description('Storage account holding the container Event Grid dead-letters undeliverable events to.')
param deadLetterStorageAccountName string
@description('Log Analytics workspace receiving the system topic\'s delivery failures.')
param logAnalyticsWorkspaceId string

var serviceOwner = '09976791-48a7-449e-bb21-39d1a415f350' // Communication and Email Service Owner
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    // Email goes out through this resource from the linked domain below.
    linkedDomains: [
      emailDomain.id
    ]
  }
}

// Email (transcripts a chat customer asks for): an Azure-managed domain, DoNotReply@<guid>.azurecomm.net,
// linked to the resource above. The app sends with its identity and the same role as SMS: Microsoft
// documents Read and Write on the Communication Services resource for sending e-mail with Entra ID.
resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: '${name}-email'
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

resource emailDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

// ACS has no SMS data action: it authorizes an Entra ID caller by its actions on the resource,
// read and write, as Microsoft documents for sending e-mail with a custom role. Left out on
// purpose: listKeys and regenerateKey (so "no keys" holds) and delete.
resource smsSender 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, name, 'acs-sms-sender')
  properties: {
    roleName: 'ACS SMS sender (${name})'
    description: 'Send SMS through one Azure Communication Services resource with Entra ID; no access to its keys.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Communication/CommunicationServices/Read'
          'Microsoft.Communication/CommunicationServices/Write'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource appSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, appPrincipalId, senderRole)
  scope: communication
  properties: {
    roleDefinitionId: senderRole == 'sms-sender' ? smsSender.id : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Its own identity writes dead-lettered events to blob storage (no keys there either).
resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: communication.id
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

resource deadLetterStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: deadLetterStorageAccountName
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterStorage.id, systemTopic.id, storageBlobDataContributor)
  scope: deadLetterStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: systemTopic
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

output name string = communication.name
output endpoint string = 'https://${communication.properties.hostName}'
output systemTopicName string = systemTopic.name
output emailSender string = 'DoNotReply@${emailDomain.properties.mailFromSenderDomain}'
