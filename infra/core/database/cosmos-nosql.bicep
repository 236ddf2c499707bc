// Azure Cosmos DB for NoSQL: the account, the app's database and its containers. The
// containers (partition keys, indexing policies, unique keys, TTLs) are read from
// infra/cosmos-containers.json, which mirrors shared/adapters/cosmos_layout.py (a test keeps
// the two equal). Keys are disabled: the app signs in with its identity, which holds the
// built-in Data Contributor role on the account (data plane, not Azure RBAC).
param accountName string
param location string = resourceGroup().location
param tags object = {}
param databaseName string
@allowed([
  'serverless'
  'provisioned'
])
@description('serverless: pay per request unit, nothing at idle. provisioned: autoscale throughput shared by the containers.')
param capacityMode string = 'serverless'
@minValue(1000)
@description('Autoscale maximum RU/s for the database (provisioned mode only); it scales down to a tenth of this.')
param autoscaleMaxThroughput int = 1000
@description('Principal id of the app identity.')
param appPrincipalId string
@description('Optional: a person or pipeline to grant the same data access (for running the app locally against Azure).')
param developerPrincipalId string = ''
@description('Reachable only through its private endpoint (vnetEnabled).')
param privateNetworking bool = false
@description('Log Analytics workspace receiving the account\'s logs.')
param logAnalyticsWorkspaceId string

var containers = loadJsonContent('../../cosmos-containers.json').containers
var serverless = capacityMode == 'serverless'
// Cosmos DB Built-in Data Contributor (data plane role definition of every account).
var dataContributor = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  // checkov:skip=CKV_AZURE_99: without vnetEnabled the Function App has no virtual network (dynamic outbound addresses), so no IP or VNet rule could admit it; keys are disabled and every request needs an Entra ID token with the data role. vnetEnabled closes the public endpoint
  // checkov:skip=CKV_AZURE_101: same reason as CKV_AZURE_99: vnetEnabled disables public network access and adds a private endpoint
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: serverless ? [
      {
        name: 'EnableServerless'
      }
    ] : []
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    enableAutomaticFailover: false
    enableFreeTier: false
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: serverless ? {} : {
      autoscaleSettings: {
        maxThroughput: autoscaleMaxThroughput
      }
    }
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for container in containers: {
  parent: database
  name: container.id
  properties: {
    resource: container
  }
}]

// Resource-specific tables (CDBDataPlaneRequests, ...) rather than AzureDiagnostics.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource appDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, appPrincipalId, dataContributor)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributor}'
    principalId: appPrincipalId
    scope: account.id
  }
}

resource developerDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = if (!empty(developerPrincipalId)) {
  parent: account
  name: guid(account.id, developerPrincipalId, dataContributor)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributor}'
    principalId: developerPrincipalId
    scope: account.id
  }
}

output accountName string = account.name
output id string = account.id
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
