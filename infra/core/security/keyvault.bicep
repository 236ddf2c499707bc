// Key Vault for the secrets app settings need (CHAT_TOKEN_SECRET), in RBAC mode with soft delete
// and purge protection. The app reads them through Key Vault references in its app settings
// (Key Vault Secrets User); the person who runs `azd` may be made Secrets Officer to rotate them.
// After `azd down` the vault stays soft-deleted for 90 days under the same name: createMode
// 'recover' (KEY_VAULT_CREATE_MODE=recover) brings it back on the next `azd up`.
param name string
param location string = resourceGroup().location
param tags object = {}
@description('Principal id of the app identity: Key Vault Secrets User.')
param appPrincipalId string
@description('Optional: a person who manages the secrets: Key Vault Secrets Officer.')
param secretsOfficerPrincipalId string = ''
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param secretsOfficerPrincipalType string = 'User'
@allowed([
  'default'
  'recover'
])
@description('recover: bring back the soft-deleted vault of this name (after `azd down`).')
param createMode string = 'default'
@description('Reachable only through its private endpoint (vnetEnabled).')
param privateNetworking bool = false

var roles = {
  secretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
  secretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7' // Key Vault Secrets Officer
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: without vnetEnabled App Service resolves Key Vault references over the vault's public endpoint ("trusted Microsoft services" does not cover it); access is by Azure RBAC only. vnetEnabled denies the public endpoint
  // checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109
  name: name
  location: location
  tags: tags
  properties: {
    createMode: createMode
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
  }
}

resource appSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.secretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.secretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource officer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  name: guid(vault.id, secretsOfficerPrincipalId, roles.secretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.secretsOfficer)
    principalId: secretsOfficerPrincipalId
    principalType: secretsOfficerPrincipalType
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
