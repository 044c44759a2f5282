package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/routes"
)

// Webhook delivery in the cloud (shared/webhooks):
//
//   - the dispatch function's webhooks sink queues deliveries in the table
//     and sends one kick per lane (endpoint, member) to the Kicks queue;
//   - deliver-webhooks takes kicks in batches (reporting the ones that
//     failed), sends the lane's deliveries in order and, after a failed
//     attempt, sends a kick for the retry with SQS's delay. SQS delays at
//     most 15 minutes: a kick received before its due time is sent again
//     with the time left, so the 2 h, 5 h and 10 h steps are chains of
//     15-minute delays (at most 40 messages for 10 h), no scheduler per
//     delivery;
//   - a kick received 5 times without success (the store failing) goes to
//     KickDeadLetters; every 5 minutes a schedule invokes deliver-webhooks
//     with no records, which reconciles: every lane with a delivery overdue
//     by a minute is kicked again, so a lost kick delays, never loses, a
//     delivery;
//   - the key sealing the signing secrets is a Secrets Manager secret read
//     by the two webhook functions only.

// deliverTimeoutSeconds is the worker's timeout; a kick stays hidden while
// a worker has it for six times that, as AWS advises for queues feeding
// Lambda.
const deliverTimeoutSeconds = 60

// WebhookResources are the webhook queues and key.
type WebhookResources struct {
	Key   awssecretsmanager.Secret
	Kicks awssqs.Queue
	DLQ   awssqs.Queue
}

func newWebhookResources(stack awscdk.Stack, removal awscdk.RemovalPolicy) *WebhookResources {
	w := &WebhookResources{}
	w.Key = awssecretsmanager.NewSecret(stack, jsii.String("WebhookKey"), &awssecretsmanager.SecretProps{
		Description:          jsii.String("Key sealing webhook signing secrets (AES-256-GCM, derived)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{PasswordLength: jsii.Number(48), ExcludePunctuation: jsii.Bool(true)},
		RemovalPolicy:        removal,
	})
	skipCheckov(w.Key, "CKV_AWS_149", "Encrypted with the account's AWS managed Secrets Manager key; a customer managed key is needed to share "+
		"a secret with another account, which this stack never does.")
	w.DLQ = awssqs.NewQueue(stack, jsii.String("WebhookKickDeadLetters"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	skipCheckov(w.DLQ, "CKV_AWS_27", "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); the check only looks for a KMS key id.")
	w.Kicks = awssqs.NewQueue(stack, jsii.String("WebhookKicks"), &awssqs.QueueProps{
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * deliverTimeoutSeconds)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: w.DLQ, MaxReceiveCount: jsii.Number(5)},
	})
	skipCheckov(w.Kicks, "CKV_AWS_27", "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); the check only looks for a KMS key id.")
	return w
}

// env adds what a function with access a needs to find the key and queue.
func (w *WebhookResources) env(a routes.Access, env map[string]*string) {
	if a.WebhookKey {
		env[layout.EnvWebhookKeyARN] = w.Key.SecretArn()
	}
	if a.KickWebhooks {
		env[layout.EnvWebhookQueueURL] = w.Kicks.QueueUrl()
	}
}

// grant gives a function the webhook actions its access lists.
func (w *WebhookResources) grant(f awslambda.Function, a routes.Access) {
	add := func(action string, resource *string) {
		f.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings(action), Resources: &[]*string{resource}}))
	}
	if a.WebhookKey {
		add("secretsmanager:GetSecretValue", w.Key.SecretArn())
	}
	if a.KickWebhooks {
		add("sqs:SendMessage", w.Kicks.QueueArn())
	}
}

// wire drives the worker from the queue and the reconciliation schedule,
// and raises alarms on dead kicks and on a backlog.
func (w *WebhookResources) wire(stack awscdk.Stack, worker awslambda.Function, action awscloudwatchactions.SnsAction) {
	worker.AddEventSource(awslambdaeventsources.NewSqsEventSource(w.Kicks, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(0)),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(20),
	}))
	role := awsiam.NewRole(stack, jsii.String("WebhookReconcileRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &[]*string{worker.FunctionArn()},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("sqs:SendMessage"), Resources: &[]*string{w.DLQ.QueueArn()},
	}))
	awsscheduler.NewCfnSchedule(stack, jsii.String("WebhookReconcileSchedule"), &awsscheduler.CfnScheduleProps{
		Description:        jsii.String("Kick webhook lanes whose kick was lost"),
		ScheduleExpression: jsii.String("rate(5 minutes)"),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:              worker.FunctionArn(),
			RoleArn:          role.RoleArn(),
			Input:            jsii.String("{}"),
			RetryPolicy:      &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(1), MaximumEventAgeInSeconds: jsii.Number(300)},
			DeadLetterConfig: &awsscheduler.CfnSchedule_DeadLetterConfigProperty{Arn: w.DLQ.QueueArn()},
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
	alarm("WebhookKickDeadLetterDepth", w.DLQ.MetricApproximateNumberOfMessagesVisible(five), 1,
		"Webhook kicks failed 5 times (the store or the worker failing); reconciliation re-kicks their lanes")
	// A kick waits at most 15 minutes by design; half an hour means the
	// worker does not keep up (or fails) and deliveries are late.
	alarm("WebhookKickBacklog", w.Kicks.MetricApproximateAgeOfOldestMessage(five), 1800,
		"Webhook kicks wait more than 30 minutes: deliveries are late")
}
