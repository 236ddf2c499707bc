// Everything the app needs in Azure, deployed by `azd up` (docs/deploy.md). Subscription scope:
// one resource group per azd environment, every resource named from abbreviations.json and a
// token unique to the subscription, environment and location, and tagged for azd.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: the resource group name and every resource token derive from it.')
param environmentName string

@minLength(1)
@description('Primary location: Flex Consumption must be available there (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Id of the person (or pipeline) running azd: Key Vault Secrets Officer, and data access to storage, Cosmos DB and Service Bus for running the app locally against Azure, when principalDataAccess allows. Empty: none.')
param principalId string = ''
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('What principalId is (AZURE_PRINCIPAL_TYPE): ServicePrincipal when a pipeline runs azd.')
param principalType string = 'User'
@allowed([
  'dev'
  'prod'
])
@description('AZURE_ENV_TYPE: dev grants principalId data access by default, prod does not.')
param environmentType string = 'dev'
@allowed([
  'auto'
  'on'
  'off'
])
@description('PRINCIPAL_DATA_ACCESS: standing data-plane access for principalId (storage, Cosmos DB, Service Bus, Key Vault secrets). auto: on in dev, off in prod.')
param principalDataAccess string = 'auto'

@allowed([
  'serverless'
  'provisioned'
])
@description('Cosmos DB capacity: serverless (nothing to pay at idle) or provisioned autoscale.')
param cosmosCapacityMode string = 'serverless'
@minValue(1000)
@description('Provisioned mode only: the database\'s autoscale maximum RU/s, shared by its containers.')
param cosmosAutoscaleMaxThroughput int = 1000

@description('ENTRA_TENANT_ID: the tenant whose tokens the app accepts; empty: the tenant of the subscription.')
param entraTenantId string = ''
@description('AUTH_AUDIENCE: the Application ID URI of the app registration agents and admins get tokens for.')
param authAudience string = 'api://omnichannel'
param logLevel string = 'INFO'

@secure()
@description('Sent by Event Grid as x-webhook-secret: the ACS channel\'s webhook_secret (16 characters or more), kept nowhere else in Azure. Empty: Event Grid authenticates with its Entra ID token alone.')
param acsWebhookSecret string = ''

@secure()
@description('CHAT_TOKEN_SECRET, the key signing chat conversation tokens: generated once by azd (kept in .azure/<env>/config.json) and written to Key Vault as chat-token-secret.')
@metadata({
  azd: {
    type: 'generate'
    config: {
      length: 48
      noSpecial: true
    }
  }
})
@minLength(32)
param chatTokenSecret string

@description('Create the Event Grid subscription that delivers ACS SMS events to the app. Leave false on the first `azd up`: the app must be deployed and its ACS channel created first.')
param createAcsEventSubscription bool = false
@description('Also send the ACS webhook secret as ?code= in the subscription URL.')
param acsWebhookSecretInQuery bool = false
@description('Event Grid delivers with an Entra ID token for the app registration (authAudience): needs the AzureEventGridSecureWebhookSubscriber app role (docs/deploy.md).')
param acsEventEntraDelivery bool = true
@allowed([
  'sms-sender'
  'service-owner'
])
@description('The app identity\'s role on ACS: the custom sms-sender role (no keys), or the built-in Communication and Email Service Owner.')
param acsSenderRole string = 'sms-sender'
@description('Where Communication Services keeps its data at rest.')
param acsDataLocation string = 'United States'

@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('ALERT_EMAIL: who the alerts e-mail; empty: they show in the portal only.')
param alertEmail string = ''
@description('ALERT_ACTION_GROUP_ID: an existing action group (resource id) every alert notifies too; empty: none.')
param alertActionGroupId string = ''
@description('VNET_ENABLED: a virtual network for the app\'s outbound traffic and private endpoints for Cosmos DB, Service Bus (then Premium), storage and Key Vault, whose public endpoints close.')
param vnetEnabled bool = false
@allowed([
  'default'
  'recover'
])
@description('KEY_VAULT_CREATE_MODE: recover brings back the vault `azd down` left soft-deleted (docs/deploy.md).')
param keyVaultCreateMode string = 'default'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var deadLetterContainerName = 'acs-events-dead-letters'
var pythonVersion = '3.13'
var grantPrincipalDataAccess = !empty(principalId) && (principalDataAccess == 'on' || (principalDataAccess == 'auto' && environmentType == 'dev'))
var dataPrincipalId = grantPrincipalDataAccess ? principalId : ''
var cosmosDatabaseName = 'omnichannel'
var workQueues = loadJsonContent('servicebus-queues.json').queues
var tokenTenantId = empty(entraTenantId) ? tenant().tenantId : entraTenantId
// Key Vault holds what app settings need, nothing more: provider secrets live in the channel
// records (docs/deploy.md, "Where secrets live").
var chatTokenSecretName = 'chat-token-secret'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'core/security/user-assigned-identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'core/storage/deployment-storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: dataPrincipalId
    developerPrincipalType: principalType
    privateNetworking: vnetEnabled
  }
}

// Agents' files, which customers download by SAS: an account apart from the host's storage.
module attachmentsStorage 'core/storage/attachments-storage.bicep' = {
  name: 'attachments-storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}files${take(resourceToken, 17)}'
    location: location
    tags: tags
    containerName: 'attachments'
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: dataPrincipalId
    developerPrincipalType: principalType
  }
}

module cosmos 'core/database/cosmos-nosql.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    accountName: '${abbrs.documentDBDatabaseAccounts}${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    capacityMode: cosmosCapacityMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: dataPrincipalId
    privateNetworking: vnetEnabled
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module serviceBus 'core/messaging/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: dataPrincipalId
    developerPrincipalType: principalType
    privateNetworking: vnetEnabled
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module keyVault 'core/security/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    secretsOfficerPrincipalId: dataPrincipalId
    secretsOfficerPrincipalType: principalType
    createMode: keyVaultCreateMode
    privateNetworking: vnetEnabled
  }
}

// Written on every provision: azd keeps the generated value in .azure/<env>/config.json.
module chatTokenSecretSecret 'core/security/keyvault-secret.bicep' = {
  name: 'secret-chat-token-secret'
  scope: rg
  params: {
    keyVaultName: keyVault.outputs.name
    name: chatTokenSecretName
    value: chatTokenSecret
  }
}

module communication 'core/communication/communication-services.bicep' = {
  name: 'communication'
  scope: rg
  params: {
    name: '${abbrs.communicationCommunicationServices}${resourceToken}'
    systemTopicName: '${abbrs.eventGridDomainsTopics}acs-${resourceToken}'
    tags: tags
    dataLocation: acsDataLocation
    appPrincipalId: identity.outputs.principalId
    senderRole: acsSenderRole
    deadLetterStorageAccountName: storage.outputs.name
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    attachmentsBlobEndpoint: attachmentsStorage.outputs.blobEndpoint
    attachmentsContainerName: attachmentsStorage.outputs.containerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    acsEndpoint: communication.outputs.endpoint
    acsEmailSender: communication.outputs.emailSender
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    queueMaxDeliveryCount: workQueues[0].properties.maxDeliveryCount
    keyVaultUri: keyVault.outputs.uri
    chatTokenSecretName: chatTokenSecretSecret.outputs.name
    entraTenantId: tokenTenantId
    authAudience: authAudience
    logLevel: logLevel
    pythonVersion: pythonVersion
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

module acsEvents 'app/acs-events.bicep' = if (createAcsEventSubscription) {
  name: 'acs-events'
  scope: rg
  params: {
    systemTopicName: communication.outputs.systemTopicName
    appBaseUrl: api.outputs.uri
    entraApplicationIdOrUri: acsEventEntraDelivery ? authAudience : ''
    entraTenantId: tokenTenantId
    webhookSecret: acsWebhookSecret
    secretInQuery: acsWebhookSecretInQuery
    deadLetterStorageAccountId: storage.outputs.id
    deadLetterContainerName: deadLetterContainerName
  }
}

module alerts 'core/monitor/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: environmentName
    location: location
    tags: tags
    alertEmail: alertEmail
    alertActionGroupId: alertActionGroupId
    serviceBusNamespaceId: serviceBus.outputs.id
    queueNames: serviceBus.outputs.queueNames
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

// vnetEnabled: the app's outbound traffic through a virtual network, and the data services
// behind private endpoints (their public endpoints closed), as the official templates do.
module network 'core/networking/vnet.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
  }
}

var privateEndpoints = [
  {
    name: 'cosmos'
    groupId: 'Sql'
    dnsZoneName: 'privatelink.documents.azure.com'
  }
  {
    name: 'servicebus'
    groupId: 'namespace'
    dnsZoneName: 'privatelink.servicebus.windows.net'
  }
  {
    name: 'blob'
    groupId: 'blob'
    dnsZoneName: 'privatelink.blob.${environment().suffixes.storage}'
  }
  {
    name: 'queue'
    groupId: 'queue'
    dnsZoneName: 'privatelink.queue.${environment().suffixes.storage}'
  }
  {
    name: 'table'
    groupId: 'table'
    dnsZoneName: 'privatelink.table.${environment().suffixes.storage}'
  }
  {
    name: 'vault'
    groupId: 'vault'
    dnsZoneName: 'privatelink.vaultcore.azure.net'
  }
]
var privateEndpointServices = {
  cosmos: cosmos.outputs.id
  servicebus: serviceBus.outputs.id
  blob: storage.outputs.id
  queue: storage.outputs.id
  table: storage.outputs.id
  vault: keyVault.outputs.id
}

module privateEndpoint 'core/networking/private-endpoint.bicep' = [for endpoint in privateEndpoints: if (vnetEnabled) {
  name: 'private-endpoint-${endpoint.name}'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${endpoint.name}-${resourceToken}'
    location: location
    tags: tags
    virtualNetworkId: network.outputs.id
    subnetId: network.outputs.privateEndpointSubnetId
    serviceId: privateEndpointServices[endpoint.name]
    groupId: endpoint.groupId
    dnsZoneName: endpoint.dnsZoneName
  }
}]

// azd reads these into the environment (.azure/<env>/.env); the postprovision hook writes
// local.settings.json from them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_CLIENT_ID string = identity.outputs.clientId
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE string = cosmos.outputs.databaseName
output SERVICEBUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output ACS_ENDPOINT string = communication.outputs.endpoint
output ACS_EMAIL_SENDER string = communication.outputs.emailSender
output ACS_EVENT_SUBSCRIPTION_CREATED bool = createAcsEventSubscription
output ENTRA_TENANT_ID string = tokenTenantId
output AUTH_AUDIENCE string = authAudience
output AZURE_PRINCIPAL_DATA_ACCESS bool = grantPrincipalDataAccess
