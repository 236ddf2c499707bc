// The Function App's own storage account: the Flex Consumption deployment package (a blob
// container) and the host's AzureWebJobsStorage (timer-trigger locks and host keys in blobs).
// Shared keys are off: the app reaches it with its user-assigned identity only.
param name string
param location string = resourceGroup().location
param tags object = {}
param deploymentContainerName string
@description('Principal id of the app identity.')
param appPrincipalId string
@description('Optional: a developer to grant the same data access (for `func start` against Azure).')
param developerPrincipalId string = ''

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the Function App has no virtual network integration (Flex Consumption without a VNet reaches storage over its public endpoint); access is by Entra ID RBAC only, shared keys are disabled
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: the app and `azd deploy` reach the account over its public endpoint, with Entra ID only
  // checkov:skip=CKV_AZURE_206: holds only the deployment package and the host's timer locks, both recreated by `azd deploy`; LRS keeps the idle cost lowest
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
  }

  resource blobServices 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: 7
      }
    }

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }
}

resource appBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource developerBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(storage.id, developerPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: developerPrincipalId
    principalType: 'User'
  }
}

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
