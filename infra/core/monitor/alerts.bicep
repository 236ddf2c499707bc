// What wakes an operator: an action group that e-mails ALERT_EMAIL, and alerts on dead-lettered
// messages (one per work queue), on the share of function invocations that fail, and on the
// share of SMS sends a provider fails (the app's send-failure metric). docs/deploy.md says what
// each means and where to look.
param namePrefix string
param location string = resourceGroup().location
param tags object = {}
@description('Who the action group e-mails; empty: the alerts fire and show in the portal, and nobody is mailed.')
param alertEmail string = ''
@description('The resource id of an action group the platform team already has (paging, chat); empty: only this deployment\'s e-mail group is notified.')
param alertActionGroupId string = ''
param serviceBusNamespaceId string
param queueNames array
param applicationInsightsId string
@description('Alert when more than this share (percent) of function invocations fail in 15 minutes (20 invocations or more).')
param failureRatePercent int = 5
@description('Alert when more than this share (percent) of one provider\'s SMS send attempts fail in 15 minutes.')
param sendFailureRatePercent int = 10
@description('The send-failure alert counts only a provider with at least this many send attempts in those 15 minutes.')
param sendFailureMinimumAttempts int = 10

var emailReceivers = empty(alertEmail) ? [] : [
  {
    name: 'operator'
    emailAddress: alertEmail
    useCommonAlertSchema: true
  }
]
// Every function invocation (HTTP, queue, timer) is a row of `requests`: host.json keeps them.
var failureRateQuery = 'requests | summarize total = count(), failed = countif(success == false) | where total >= 20 and failed * 100.0 / total > ${failureRatePercent}'
// SMS sends per provider, from the app's OpenTelemetry counters (shared/telemetry.py), which the
// Azure Monitor distribution exports to customMetrics: omnichannel.sms.sent counts the sends a
// provider took, omnichannel.sms.send_failures each refused or failed attempt (dimensions: the
// provider and its error code). A test keeps these names in step with the code.
var sendFailuresQuery = 'customMetrics | where name in ("omnichannel.sms.send_failures", "omnichannel.sms.sent") | extend provider = tostring(customDimensions["omnichannel.provider"]) | summarize failed = sumif(valueSum, name == "omnichannel.sms.send_failures"), sent = sumif(valueSum, name == "omnichannel.sms.sent") by provider | where failed + sent >= ${sendFailureMinimumAttempts} and failed * 100.0 / (failed + sent) > ${sendFailureRatePercent}'

// Every alert notifies this deployment's group, and the platform team's when one is given.
var actionGroupIds = concat([actionGroup.id], empty(alertActionGroupId) ? [] : [alertActionGroupId])

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-operators'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'omnichannel'
    enabled: true
    emailReceivers: emailReceivers
  }
}

// A dead-lettered message is work the app gave up on: a customer message never routed, a reply
// never sent. Any at all deserves a look (docs/servicebus.md: how to inspect and resubmit).
resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = [for queue in queueNames: {
  name: '${namePrefix}-dead-letters-${queue}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Messages in the dead-letter subqueue of the ${queue} queue.'
    severity: 2
    enabled: true
    scopes: [
      serviceBusNamespaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'dead-lettered'
          criterionType: 'StaticThresholdCriterion'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                queue
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: [for id in actionGroupIds: {
      actionGroupId: id
    }]
  }
}]

resource failureRate 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-function-failure-rate'
  location: location
  tags: tags
  properties: {
    displayName: 'Function failure rate'
    description: 'More than ${failureRatePercent}% of function invocations failed in 15 minutes.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: failureRateQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroupIds
    }
  }
}

resource sendFailures 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-provider-send-failures'
  location: location
  tags: tags
  properties: {
    displayName: 'Provider send failures'
    description: 'More than ${sendFailureRatePercent}% of one SMS provider\'s send attempts failed in 15 minutes.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: sendFailuresQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroupIds
    }
  }
}

output actionGroupId string = actionGroup.id
