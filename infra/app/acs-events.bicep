// The Event Grid subscription that delivers ACS SMS events to the app's /api/sms/acs route.
// Creating it makes Event Grid call that URL with a validation event, which the app answers
// only when it is deployed and an ACS channel exists (docs/deploy.md: it is created on a second
// `azd provision`, with CREATE_ACS_EVENT_SUBSCRIPTION=true). Events Event Grid gives up on land
// in a blob container instead of being dropped.
param systemTopicName string
param subscriptionName string = 'sms-to-app'
@description('The app\'s https base URL, e.g. https://func-abc.azurewebsites.net')
param appBaseUrl string
@description('Deliver with an Entra ID token for this app registration (the app accepts Event Grid\'s token with AUTH_MODE=entra). Empty: no token, the secret alone.')
param entraApplicationIdOrUri string = ''
param entraTenantId string = ''
@secure()
@description('The ACS channel\'s webhook_secret, sent with every delivery as the x-webhook-secret header; empty: none (Entra ID only). With both, the app checks the secret, which names the channel.')
param webhookSecret string = ''
@description('Also put the secret in the URL as ?code= (the app accepts either; both must match when both come). The header alone keeps it out of logged URLs.')
param secretInQuery bool = false
param deadLetterStorageAccountId string
param deadLetterContainerName string

var endpoint = '${appBaseUrl}/api/sms/acs'
var secretHeader = [
  {
    name: 'x-webhook-secret'
    type: 'Static'
    properties: {
      value: webhookSecret
      isSecret: true
    }
  }
]
var entraDelivery = empty(entraApplicationIdOrUri) ? {} : {
  azureActiveDirectoryApplicationIdOrUri: entraApplicationIdOrUri
  azureActiveDirectoryTenantId: entraTenantId
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: subscriptionName
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Communication.SMSReceived'
        'Microsoft.Communication.SMSDeliveryReportReceived'
      ]
    }
    destination: {
      endpointType: 'WebHook'
      properties: union(entraDelivery, {
        endpointUrl: secretInQuery && !empty(webhookSecret) ? '${endpoint}?code=${uriComponent(webhookSecret)}' : endpoint
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
        deliveryAttributeMappings: empty(webhookSecret) ? [] : secretHeader
      })
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    // Written with the system topic's own identity (Storage Blob Data Contributor).
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = subscription.name
