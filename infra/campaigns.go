package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/routes"
)

// Campaign sending in the cloud (shared/campaigns):
//
//   - the campaigns function stores a campaign and sends a kick to the
//     CampaignKicks queue, delayed to its send time when that is within
//     SQS's 15 minutes;
//   - send-campaigns takes kicks one at a time (a campaign is long work),
//     leases the campaign, sends page after page and, paused by a rate
//     limit or at the end of its time budget, releases it with a kick for
//     when it may go on;
//   - every minute a schedule invokes send-campaigns with no records: it
//     runs every campaign the due index lists (send times beyond 15
//     minutes, lost kicks, leases of a worker that died), so nothing
//     depends on a kick arriving;
//   - a kick that fails 3 times goes to CampaignKickDeadLetters (alarmed);
//     the campaign itself stays due and the schedule takes it again.

// campaignTimeoutSeconds is the worker's timeout: the service's time
// budget (10 minutes) and a page's worth of room.
const campaignTimeoutSeconds = 12 * 60

// CampaignResources are the campaign queues.
type CampaignResources struct {
	Kicks awssqs.Queue
	DLQ   awssqs.Queue
}

func newCampaignResources(stack awscdk.Stack) *CampaignResources {
	c := &CampaignResources{}
	c.DLQ = awssqs.NewQueue(stack, jsii.String("CampaignKickDeadLetters"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	skipCheckov(c.DLQ, "CKV_AWS_27", "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); the check only looks for a KMS key id.")
	c.Kicks = awssqs.NewQueue(stack, jsii.String("CampaignKicks"), &awssqs.QueueProps{
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * campaignTimeoutSeconds)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: c.DLQ, MaxReceiveCount: jsii.Number(3)},
	})
	skipCheckov(c.Kicks, "CKV_AWS_27", "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); the check only looks for a KMS key id.")
	return c
}

// env adds the queue's URL for a function that kicks campaigns.
func (c *CampaignResources) env(a routes.Access, env map[string]*string) {
	if a.KickCampaigns {
		env[layout.EnvCampaignQueueURL] = c.Kicks.QueueUrl()
	}
}

// grant lets a function kick campaigns.
func (c *CampaignResources) grant(f awslambda.Function, a routes.Access) {
	if a.KickCampaigns {
		f.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("sqs:SendMessage"), Resources: &[]*string{c.Kicks.QueueArn()},
		}))
	}
}

// wire drives the worker from the queue and the schedule, and raises alarms
// on dead kicks and on a backlog.
func (c *CampaignResources) wire(stack awscdk.Stack, worker awslambda.Function, action awscloudwatchactions.SnsAction) {
	worker.AddEventSource(awslambdaeventsources.NewSqsEventSource(c.Kicks, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(1),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(5),
	}))
	role := awsiam.NewRole(stack, jsii.String("CampaignScheduleRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &[]*string{worker.FunctionArn()},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("sqs:SendMessage"), Resources: &[]*string{c.DLQ.QueueArn()},
	}))
	awsscheduler.NewCfnSchedule(stack, jsii.String("CampaignSchedule"), &awsscheduler.CfnScheduleProps{
		Description:        jsii.String("Run due campaigns (send times beyond SQS's delay, lost kicks, dead workers)"),
		ScheduleExpression: jsii.String("rate(1 minute)"),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:              worker.FunctionArn(),
			RoleArn:          role.RoleArn(),
			Input:            jsii.String("{}"),
			RetryPolicy:      &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(0), MaximumEventAgeInSeconds: jsii.Number(60)},
			DeadLetterConfig: &awsscheduler.CfnSchedule_DeadLetterConfigProperty{Arn: c.DLQ.QueueArn()},
		},
	})
	five := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5))}
	alarm := func(name string, m awscloudwatch.Metric, threshold float64, desc string) {
		a := m.CreateAlarm(stack, jsii.String(name), &awscloudwatch.CreateAlarmOptions{
			Threshold: jsii.Number(threshold), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription:   jsii.String(desc),
		})
		a.AddAlarmAction(action)
	}
	alarm("CampaignKickDeadLetterDepth", c.DLQ.MetricApproximateNumberOfMessagesVisible(five), 1,
		"Campaign kicks failed 3 times (the store or the worker failing); the schedule retries due campaigns")
	alarm("CampaignKickBacklog", c.Kicks.MetricApproximateAgeOfOldestMessage(five), 1800,
		"Campaign kicks wait more than 30 minutes: campaigns are late")
}
