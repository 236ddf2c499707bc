// Agents' files sent to customers (shared/adapters/azure_blobs.py): a storage account of their
// own, apart from the host's, because customers download from it directly, from anywhere, by a
// short-lived user-delegation SAS the app signs with its identity. Shared keys are off (no
// account-key SAS can be made), nothing is public without a SAS, and every SAS the account
// accepts expires within the policy's period.
param name string
param location string = resourceGroup().location
param tags object = {}
param containerName string
@description('Principal id of the app identity: writes the files and signs download URLs.')
param appPrincipalId string
@description('Optional: a person or pipeline to grant the same data access (running the app locally against Azure).')
param developerPrincipalId string = ''
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string = 'User'

// Storage Blob Data Contributor: read and write blobs, and ask for a user delegation key
// (generateUserDelegationKey) to sign download URLs; no role over the account itself.
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: customers download agents' files from the internet by SAS URL, so the public endpoint must admit every network; access is by Entra ID RBAC or a user-delegation SAS only, shared keys are disabled
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: the customer's browser or the SMS provider (MMS) fetches each file over the public endpoint by its SAS
  // checkov:skip=CKV2_AZURE_33: a private endpoint would hide the files from the customers and SMS providers they are sent to
  // checkov:skip=CKV_AZURE_206: files sent in conversations, already delivered when a region is lost; LRS keeps the cost lowest
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    // The app signs URLs for ATTACHMENT_URL_LIFETIME_SECONDS (1 hour by default): none may
    // last longer than a day.
    sasPolicy: {
      expirationAction: 'Block'
      sasExpirationPeriod: '1.00:00:00'
    }
  }

  resource blobServices 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: 7
      }
      containerDeleteRetentionPolicy: {
        enabled: true
        days: 7
      }
    }

    resource attachments 'containers' = {
      name: containerName
      properties: {
        publicAccess: 'None'
      }
    }
  }
}

resource appBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, blobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource developerBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(storage.id, developerPrincipalId, blobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output containerName string = storage::blobServices::attachments.name
