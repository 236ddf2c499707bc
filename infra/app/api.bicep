// The Function App on the Flex Consumption plan (Python 3.13) with its user-assigned identity,
// and every app setting the app reads. Names are those of local.settings.sample.json and
// shared/settings.py; tests/infra/test_infra.py fails when one is missing here or one here is
// read by nothing. FUNCTIONS_WORKER_RUNTIME is not an app setting on Flex Consumption (the
// platform rejects it): functionAppConfig.runtime says python instead. AzureWebJobsStorage is
// replaced by its identity-based form (__accountName, __credential, __clientId). Site properties
// Flex Consumption rejects (ARM error 51021: siteConfig.ftpsState, alwaysOn, linuxFxVersion,
// use32BitWorkerProcess, ...) are left out; tests/infra lists them.
param name string
param planName string
param location string = resourceGroup().location
param tags object = {}
param serviceName string = 'api'

@description('Resource id and client id of the user-assigned identity the app runs as.')
param identityId string
param identityClientId string

param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string
@description('Blob endpoint and container of the account keeping agents\' files (customers download them by SAS).')
param attachmentsBlobEndpoint string
param attachmentsContainerName string
param applicationInsightsConnectionString string

param cosmosEndpoint string
param cosmosDatabaseName string
param serviceBusNamespace string
param queueMaxDeliveryCount int
param keyVaultUri string
@description('Key Vault secret the CHAT_TOKEN_SECRET setting refers to.')
param chatTokenSecretName string

@description('The Communication Services resource that sends transcripts by email, and its sender address.')
param acsEndpoint string
param acsEmailSender string

param entraTenantId string
param authAudience string
param logLevel string = 'INFO'

@description('The Python version Flex Consumption runs (functionAppConfig.runtime).')
param pythonVersion string = '3.13'
@description('Subnet (delegated to Microsoft.App/environments) for outbound VNet integration; empty: none.')
param virtualNetworkSubnetId string = ''

@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

// The one app setting that holds a secret. A Key Vault reference without a version resolves to
// the secret's current version. Provider secrets are not app settings: they live in the channel
// records (docs/deploy.md, "Where secrets live").
var chatTokenSecretReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${chatTokenSecretName})'

var appSettings = {
  // Functions host: identity-based host storage, telemetry and the Service Bus connection.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusNamespace
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  // The app (shared/settings.py).
  STORAGE_BACKEND: 'cosmos'
  SQLITE_PATH: '/tmp/omnichannel.db' // unused with cosmos and servicebus; /tmp is writable
  COSMOS_ENDPOINT: cosmosEndpoint
  COSMOS_KEY: '' // keys are disabled: the app signs in with AZURE_CLIENT_ID's identity
  COSMOS_DATABASE: cosmosDatabaseName
  COSMOS_VERIFY_TLS: 'true'
  QUEUE_BACKEND: 'servicebus'
  QUEUE_MAX_DELIVERY_COUNT: string(queueMaxDeliveryCount)
  QUEUE_VISIBILITY_TIMEOUT_SECONDS: '30'
  AZURE_CLIENT_ID: identityClientId
  SMS_SENDER: 'providers'
  EMAIL_SENDER: 'acs' // transcripts by email through ACS Email, with the app's identity
  ACS_EMAIL_ENDPOINT: acsEndpoint
  ACS_EMAIL_SENDER: acsEmailSender
  TWILIO_API_BASE_URL: 'https://api.twilio.com'
  TELESIGN_API_BASE_URL: 'https://rest-api.telesign.com'
  PUBLIC_BASE_URL: 'https://${site.properties.defaultHostName}'
  TWILIO_ACCOUNT_SID: '' // the local demo channel's (devserver/seed.py); in Azure channels carry their own
  TWILIO_AUTH_TOKEN: '' // same: the demo seed only
  AUTH_MODE: 'entra'
  ENTRA_TENANT_ID: entraTenantId
  ENTRA_AUTHORITY_HOST: environment().authentication.loginEndpoint
  DEV_AUTH_KEY_FILE: '/tmp/dev-signing-key.pem' // unused with AUTH_MODE=entra
  DEV_AUTH_ISSUER: 'https://localhost/omnichannel-dev' // unused with AUTH_MODE=entra
  AUTH_AUDIENCE: authAudience
  CHAT_TOKEN_SECRET: chatTokenSecretReference // the same HMAC key on every instance
  CHAT_TOKEN_KEY_FILE: '/tmp/chat-token.key' // unused when CHAT_TOKEN_SECRET is set
  CHAT_TOKEN_LIFETIME_SECONDS: '86400'
  CHAT_MAX_TEXT_LENGTH: '4000'
  CHAT_MAX_ATTACHMENT_BYTES: '20971520'
  CHAT_MAX_WAIT_SECONDS: '25'
  CHAT_POLL_INTERVAL_SECONDS: '0.5'
  ORG_TIME_ZONE: 'UTC' // figures count days in this IANA time zone
  SERVICE_LEVEL_SECONDS: '60'
  SERVICE_LEVEL_TARGET: '0.8' // staffing advice: agents needed to answer this share in time
  STAFFING_WINDOW_MINUTES: '60' // staffing advice: arrival rate over this many minutes
  SENTIMENT_ENABLED: 'true' // lexicon sentiment of customer messages, for supervisors
  TYPING_TTL_SECONDS: '6' // how long a typing signal shows on the other side
  ATTACHMENT_STORAGE: 'azure' // agents' files in Blob Storage, by the app's identity
  ATTACHMENT_FOLDER: '' // unused with azure
  ATTACHMENT_SIGNING_KEY_FILE: '' // unused with azure: download URLs are user-delegation SAS
  BLOB_ACCOUNT_URL: attachmentsBlobEndpoint
  BLOB_CONTAINER: attachmentsContainerName
  ATTACHMENT_MAX_BYTES: '10485760' // larger uploads get 413
  ATTACHMENT_ALLOWED_TYPES: 'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain'
  ATTACHMENT_URL_LIFETIME_SECONDS: '3600' // a customer's download URL; the account blocks SAS over a day
  MAX_REQUEST_BODY_BYTES: '1048576' // larger request bodies get 413
  LOG_LEVEL: logLevel
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption needs always-ready instances in several zones, which cost money at idle; this deployment scales to zero
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: SMS providers (Twilio, TeleSign, Event Grid) cannot present client certificates; webhooks are authenticated by signatures and secrets, users by Entra ID bearer tokens
  // checkov:skip=CKV_AZURE_62: the SMS webhooks must be reachable by the providers from the internet, whose source addresses are not fixed
  // checkov:skip=CKV_AZURE_222: same reason as CKV_AZURE_62
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero; always-ready instances would cost money at idle (set functionAppConfig.scaleAndConcurrency.alwaysReady to keep some)
  // checkov:skip=CKV_AZURE_213: App Service health check is not available on the Flex Consumption plan; GET /api/health exists for external probes
  // checkov:skip=CKV_AZURE_78: Flex Consumption rejects siteConfig.ftpsState (ARM error 51021) and serves no FTP at all; basic publishing credentials are off below
  // checkov:skip=CKV_AZURE_16: the app validates Entra ID tokens itself (AUTH_MODE=entra); App Service Authentication would reject the providers' webhooks, which carry no Entra ID token
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      remoteDebuggingEnabled: false
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: the app validates Entra ID tokens itself (AUTH_MODE=entra); App Service Authentication would reject the providers' webhooks, which carry no Entra ID token
  // checkov:skip=CKV_AZURE_56: same reason as CKV_AZURE_13
  // checkov:skip=CKV_AZURE_222: same reason as on the site: the providers' webhooks come from the internet
  // checkov:skip=CKV_AZURE_63: checkov reads every sites/config as the 'web' configuration, but this is 'appsettings'; requests and failures are logged to Application Insights
  // checkov:skip=CKV_AZURE_65: same reason as CKV_AZURE_63
  // checkov:skip=CKV_AZURE_66: same reason as CKV_AZURE_63
  // checkov:skip=CKV_AZURE_80: a .NET Framework version applies to .NET apps; this one is Python (functionAppConfig.runtime)
  // checkov:skip=CKV_AZURE_88: Flex Consumption runs the package from its blob container (functionAppConfig.deployment) and mounts no Azure Files share
  parent: site
  name: 'appsettings'
  properties: appSettings
}

// Deployment and Kudu sign in with Entra ID only (azd does), never with basic credentials.
// Each policy carries the site's location: ARM refuses the resource without one.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  location: location
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  location: location
  properties: {
    allow: false
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
