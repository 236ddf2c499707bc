// One Key Vault secret (a module, so that main.bicep can write it only when a value is given
// and never overwrite a secret rotated in the vault with an empty one).
param keyVaultName string
param name string
@secure()
param value string
param contentType string = 'text/plain'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: the chat token key does not expire on its own; an expiry date here would make Key Vault refuse the secret and silently break the app. Rotation is by new versions (docs/deploy.md)
  parent: vault
  name: name
  properties: {
    value: value
    contentType: contentType
  }
}

output name string = secret.name
