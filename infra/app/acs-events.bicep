// The Event Grid subscription that delivers ACS SMS events to the app's /api/sms/acs route.
// Creating it makes Event Grid call that URL with a validation event, which the app answers
// only when it is deployed and an ACS channel with this same webhook secret exists (docs/deploy.md:
// it is created on a second `azd provision`, with CREATE_ACS_EVENT_SUBSCRIPTION=true).
param systemTopicName string
param subscriptionName string = 'sms-to-app'
@description('The app\'s https base URL, e.g. https://func-abc.azurewebsites.net')
param appBaseUrl string
@secure()
@minLength(16)
@description('The ACS channel\'s webhook_secret: sent with every delivery as the x-webhook-secret header.')
param webhookSecret string
@description('Also put the secret in the URL as ?code= (the app accepts either; both must match when both come). The header alone keeps it out of logged URLs.')
param secretInQuery bool = false

var endpoint = '${appBaseUrl}/api/sms/acs'

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
      properties: {
        endpointUrl: secretInQuery ? '${endpoint}?code=${uriComponent(webhookSecret)}' : endpoint
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
        deliveryAttributeMappings: [
          {
            name: 'x-webhook-secret'
            type: 'Static'
            properties: {
              value: webhookSecret
              isSecret: true
            }
          }
        ]
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output name string = subscription.name
