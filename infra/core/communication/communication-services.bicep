// Azure Communication Services (the ACS SMS channel) and the Event Grid system topic its SMS
// events are published on. The subscription that delivers them to the app is
// infra/app/acs-events.bicep: it can only be created once the app answers the handshake.
param name string
param systemTopicName string
param tags object = {}
@description('Where ACS stores its data at rest, e.g. United States, Europe, UK, Australia.')
param dataLocation string = 'United States'
@description('Principal id of the app identity, which sends SMS through ACS with Entra ID instead of an access key.')
param appPrincipalId string

// ACS SMS accepts Entra ID tokens of identities holding Contributor on the resource (scoped to
// this one resource only).
var contributor = 'b24988ac-6180-42a0-ab88-20f7382dd24c'

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: 'global'
  tags: tags
  properties: {
    source: communication.id
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

resource appSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, appPrincipalId, contributor)
  scope: communication
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = communication.name
output endpoint string = 'https://${communication.properties.hostName}'
output systemTopicName string = systemTopic.name
