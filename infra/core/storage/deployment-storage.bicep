// The Function App's own storage account: the Flex Consumption deployment package (a blob
// container), the host's AzureWebJobsStorage (timer-trigger locks and host keys in blobs, host
// diagnostics in tables and queues) and Event Grid's dead letters. Shared keys are off: the app
// reaches it with its user-assigned identity only.
param name string
param location string = resourceGroup().location
param tags object = {}
param deploymentContainerName string
@description('Where Event Grid puts ACS events it could not deliver.')
param deadLetterContainerName string
@description('Principal id of the app identity.')
param appPrincipalId string
@description('Optional: a person or pipeline to grant the same data access (for `func start` against Azure).')
param developerPrincipalId string = ''
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string = 'User'
@description('True with private endpoints: the public endpoint then admits only trusted Azure services (Event Grid\'s dead letters).')
param privateNetworking bool = false

// What the Functions host needs with identity-based AzureWebJobsStorage: blobs (the package,
// timer locks, keys), and tables and queues (its diagnostic events), as the official
// Flex Consumption templates grant.
var dataRoles = [
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: without vnetEnabled the Function App has no virtual network integration and reaches storage over its public endpoint; access is by Entra ID RBAC only, shared keys are disabled. With vnetEnabled the default action is Deny
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: without vnetEnabled the app and `azd deploy` reach the account over its public endpoint, with Entra ID only
  // checkov:skip=CKV_AZURE_206: holds only the deployment package, the host's timer locks and dead-lettered events, the first two recreated by `azd deploy`; LRS keeps the idle cost lowest
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
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
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

    resource deadLetterContainer 'containers' = {
      name: deadLetterContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }
}

resource appDataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in dataRoles: {
  name: guid(storage.id, appPrincipalId, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource developerDataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in dataRoles: if (!empty(developerPrincipalId)) {
  name: guid(storage.id, developerPrincipalId, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
