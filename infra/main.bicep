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

@description('Id of the person running azd: Key Vault Secrets Officer, and data access to storage, Cosmos DB and Service Bus for running the app locally against Azure. Empty: none.')
param principalId string = ''

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

@description('TWILIO_ACCOUNT_SID (not a secret).')
param twilioAccountSid string = ''
@secure()
@description('Written to Key Vault as twilio-auth-token when given; leave empty to manage the secret in the vault only.')
param twilioAuthToken string = ''
@secure()
@description('Written to Key Vault as telesign-api-key when given: the place of record for the TeleSign channel\'s api_key.')
param telesignApiKey string = ''
@secure()
@description('Written to Key Vault as acs-webhook-secret when given, and sent by Event Grid as x-webhook-secret: the ACS channel\'s webhook_secret (16 characters or more).')
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

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var cosmosDatabaseName = 'omnichannel'
var workQueues = loadJsonContent('servicebus-queues.json').queues
var tokenTenantId = empty(entraTenantId) ? tenant().tenantId : entraTenantId
var secretNames = {
  twilioAuthToken: 'twilio-auth-token'
  telesignApiKey: 'telesign-api-key'
  acsWebhookSecret: 'acs-webhook-secret'
  chatTokenSecret: 'chat-token-secret'
}

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
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: principalId
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
    developerPrincipalId: principalId
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
    developerPrincipalId: principalId
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
    secretsOfficerPrincipalId: principalId
  }
}

// Each secret is written only when its parameter is set, so a provision without it never
// replaces a version rotated in the vault.
module twilioAuthTokenSecret 'core/security/keyvault-secret.bicep' = if (!empty(twilioAuthToken)) {
  name: 'secret-twilio-auth-token'
  scope: rg
  params: {
    keyVaultName: keyVault.outputs.name
    name: secretNames.twilioAuthToken
    value: twilioAuthToken
  }
}

module telesignApiKeySecret 'core/security/keyvault-secret.bicep' = if (!empty(telesignApiKey)) {
  name: 'secret-telesign-api-key'
  scope: rg
  params: {
    keyVaultName: keyVault.outputs.name
    name: secretNames.telesignApiKey
    value: telesignApiKey
  }
}

module acsWebhookSecretSecret 'core/security/keyvault-secret.bicep' = if (!empty(acsWebhookSecret)) {
  name: 'secret-acs-webhook-secret'
  scope: rg
  params: {
    keyVaultName: keyVault.outputs.name
    name: secretNames.acsWebhookSecret
    value: acsWebhookSecret
  }
}

module chatTokenSecretSecret 'core/security/keyvault-secret.bicep' = {
  name: 'secret-chat-token-secret'
  scope: rg
  params: {
    keyVaultName: keyVault.outputs.name
    name: secretNames.chatTokenSecret
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
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    queueMaxDeliveryCount: workQueues[0].properties.maxDeliveryCount
    keyVaultUri: keyVault.outputs.uri
    twilioAuthTokenSecretName: secretNames.twilioAuthToken
    twilioAccountSid: twilioAccountSid
    chatTokenSecretName: chatTokenSecretSecret.outputs.name
    entraTenantId: tokenTenantId
    authAudience: authAudience
    logLevel: logLevel
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
    webhookSecret: acsWebhookSecret
    secretInQuery: acsWebhookSecretInQuery
  }
}

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
output ACS_EVENT_SUBSCRIPTION_CREATED bool = createAcsEventSubscription
output ENTRA_TENANT_ID string = tokenTenantId
output AUTH_AUDIENCE string = authAudience
