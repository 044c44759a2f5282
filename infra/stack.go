// Package infra is the CDK stack of the loyalty service: one DynamoDB table,
// one Lambda per function of shared/routes with only the permissions that
// function needs, an HTTP API routing each operation to its function, the
// scheduled expiry sweep with retries and a dead-letter queue, and alarms.
// The route table, permissions and key names come from shared/routes, the
// same table the handlers use, so the stack cannot drift from the code.
package infra

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/routes"
)

// Props configure the stack.
type Props struct {
	awscdk.StackProps
	// Stage names the deployment; "prod" retains and protects the table.
	Stage string
	// BuildDir holds <function>/bootstrap for every function (make build).
	BuildDir string
	// SweepSchedule is an EventBridge Scheduler expression.
	SweepSchedule string
	// AlarmEmail, when set, receives the alarms.
	AlarmEmail string
	// NotifierMode is layout.EnvNotifier's value: "aws" (default) or
	// "table" for smoke tests of a local deployment.
	NotifierMode string
	// EmailFrom is the SES sender of email codes.
	EmailFrom string
	// X86 builds the functions for x86_64 instead of arm64 (a local
	// emulator on an x86 machine runs the binaries natively).
	X86 bool
	// Endpoint, for a deployment to an emulator, points the functions' AWS
	// clients at it (AWS_ENDPOINT_URL); empty in the cloud.
	Endpoint string
}

// Stack is the constructed stack with what tests assert on.
type Stack struct {
	awscdk.Stack
	Table     awsdynamodb.Table
	Functions map[string]awslambda.Function
	Api       awsapigatewayv2.HttpApi
	DLQ       awssqs.Queue
	Alarms    awssns.Topic
}

// Production reports whether a stage keeps its data on stack deletion.
func (p Props) Production() bool { return p.Stage == "prod" }

// memoryMB and timeouts per function; the sweep gets room to catch up.
func sizing(fn string) (memory float64, timeout awscdk.Duration) {
	if fn == routes.FnExpireSweep {
		return 512, awscdk.Duration_Minutes(jsii.Number(5))
	}
	return 256, awscdk.Duration_Seconds(jsii.Number(10))
}

// NewLoyaltyStack builds the stack.
func NewLoyaltyStack(scope constructs.Construct, id string, props Props) *Stack {
	if props.Stage == "" {
		props.Stage = "dev"
	}
	if props.SweepSchedule == "" {
		props.SweepSchedule = "rate(5 minutes)"
	}
	if props.NotifierMode == "" {
		props.NotifierMode = "aws"
	}
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &Stack{Stack: stack, Functions: map[string]awslambda.Function{}}
	removal := awscdk.RemovalPolicy_DESTROY
	if props.Production() {
		removal = awscdk.RemovalPolicy_RETAIN
	}

	s.Table = awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(layout.HashKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:                          &awsdynamodb.Attribute{Name: jsii.String(layout.RangeKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		TimeToLiveAttribute:              jsii.String(layout.TTLAttribute),
		RemovalPolicy:                    removal,
		DeletionProtection:               jsii.Bool(props.Production()),
	})
	s.Table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(layout.IndexName),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(layout.IndexHashKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(layout.IndexRangeKey), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_KEYS_ONLY,
	})

	secret := awssecretsmanager.NewSecret(stack, jsii.String("OtpSecret"), &awssecretsmanager.SecretProps{
		Description:          jsii.String("HMAC key for one-time codes"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{PasswordLength: jsii.Number(48), ExcludePunctuation: jsii.Bool(true)},
		RemovalPolicy:        removal,
	})

	for _, fn := range routes.AllFunctions() {
		memory, timeout := sizing(fn)
		logs := awslogs.NewLogGroup(stack, jsii.String(construct(fn)+"Logs"), &awslogs.LogGroupProps{
			Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		env := map[string]*string{
			layout.EnvTable:    s.Table.TableName(),
			layout.EnvNotifier: jsii.String(props.NotifierMode),
		}
		if props.EmailFrom != "" {
			env[layout.EnvEmailFrom] = jsii.String(props.EmailFrom)
		}
		if props.Endpoint != "" {
			env["AWS_ENDPOINT_URL"] = jsii.String(props.Endpoint)
		}
		access := routes.Permissions[fn]
		if access.ReadSecret {
			env[layout.EnvOTPSecretARN] = secret.SecretArn()
		}
		arch := awslambda.Architecture_ARM_64()
		if props.X86 {
			arch = awslambda.Architecture_X86_64()
		}
		f := awslambda.NewFunction(stack, jsii.String(construct(fn)), &awslambda.FunctionProps{
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  arch,
			Handler:       jsii.String("bootstrap"),
			Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(props.BuildDir, fn)), nil),
			MemorySize:    jsii.Number(memory),
			Timeout:       timeout,
			Environment:   &env,
			LogGroup:      logs,
			LoggingFormat: awslambda.LoggingFormat_JSON,
			Description:   jsii.String("loyalty " + fn),
		})
		grant(stack, f, fn, access, s.Table, secret)
		s.Functions[fn] = f
	}

	s.Api = awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("Loyalty cashback API"),
		// Browsers call only the public enrollment route; HTTP APIs set CORS
		// API-wide, so it is limited to what that route needs.
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings("*"),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_OPTIONS},
			AllowHeaders: jsii.Strings("content-type", "idempotency-key"),
		},
	})
	stage := s.Api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingBurstLimit: jsii.Number(200), ThrottlingRateLimit: jsii.Number(100),
	})
	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	for _, r := range routes.Routes {
		in, ok := integrations[r.Function]
		if !ok {
			in = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(construct(r.Function)+"Integration"), s.Functions[r.Function], nil)
			integrations[r.Function] = in
		}
		s.Api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: in,
		})
	}

	// The sweep on a schedule: retried, then parked in a dead-letter queue.
	s.DLQ = awssqs.NewQueue(stack, jsii.String("SweepDeadLetters"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	sweep := s.Functions[routes.FnExpireSweep]
	schedulerRole := awsiam.NewRole(stack, jsii.String("SweepSchedulerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
	})
	schedulerRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &[]*string{sweep.FunctionArn()},
	}))
	schedulerRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("sqs:SendMessage"), Resources: &[]*string{s.DLQ.QueueArn()},
	}))
	awsscheduler.NewCfnSchedule(stack, jsii.String("SweepSchedule"), &awsscheduler.CfnScheduleProps{
		Description:        jsii.String("Expire lots, mature pending points, release stale holds"),
		ScheduleExpression: jsii.String(props.SweepSchedule),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:              sweep.FunctionArn(),
			RoleArn:          schedulerRole.RoleArn(),
			RetryPolicy:      &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(2), MaximumEventAgeInSeconds: jsii.Number(3600)},
			DeadLetterConfig: &awsscheduler.CfnSchedule_DeadLetterConfigProperty{Arn: s.DLQ.QueueArn()},
		},
	})

	// Alarms: errors and throttles of every function, sweep failures, dead letters.
	s.Alarms = awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{DisplayName: jsii.String("loyalty alarms")})
	if props.AlarmEmail != "" {
		s.Alarms.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(s.Alarms)
	alarm := func(name string, metric awscloudwatch.Metric, desc string) {
		a := metric.CreateAlarm(stack, jsii.String(name), &awscloudwatch.CreateAlarmOptions{
			Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription:   jsii.String(desc),
		})
		a.AddAlarmAction(action)
	}
	five := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5))}
	names := make([]string, 0, len(s.Functions))
	for fn := range s.Functions {
		names = append(names, fn)
	}
	sort.Strings(names)
	for _, fn := range names {
		f := s.Functions[fn]
		if fn == routes.FnExpireSweep {
			alarm(construct(fn)+"Failures", f.MetricErrors(five), "The expiry sweep failed")
		} else {
			alarm(construct(fn)+"Errors", f.MetricErrors(five), fn+" returned errors")
		}
		alarm(construct(fn)+"Throttles", f.MetricThrottles(five), fn+" was throttled")
	}
	alarm("SweepDeadLetterDepth", s.DLQ.MetricApproximateNumberOfMessagesVisible(five), "Sweep invocations gave up and are in the dead-letter queue")

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{Value: s.Api.ApiEndpoint()})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{Value: s.Table.TableName()})
	return s
}

// grant gives a function exactly the actions its routes.Access lists.
func grant(stack awscdk.Stack, f awslambda.Function, fn string, a routes.Access, table awsdynamodb.Table, secret awssecretsmanager.Secret) {
	add := func(actions []string, resources ...*string) {
		f.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: &resources}))
	}
	if a.ReadTable {
		add(ReadActions, table.TableArn())
	}
	if a.WriteTable {
		add(WriteActions, table.TableArn())
	}
	if a.QueryIndex {
		add([]string{"dynamodb:Query"}, jsii.String(*table.TableArn()+"/index/"+layout.IndexName))
	}
	if a.SendSMS {
		// SMS to phone numbers has no resource ARN: "*" is the only resource
		// sns:Publish accepts for it; the action itself stays exact.
		add([]string{"sns:Publish"}, jsii.String("*"))
	}
	if a.SendEmail {
		add([]string{"ses:SendEmail", "ses:SendRawEmail"}, jsii.String(fmt.Sprintf("arn:%s:ses:%s:%s:identity/*", *stack.Partition(), *stack.Region(), *stack.Account())))
	}
	if a.ReadSecret {
		add([]string{"secretsmanager:GetSecretValue"}, secret.SecretArn())
	}
}

// DynamoDB actions per access kind (TransactWriteItems is authorised per item).
var (
	ReadActions  = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"}
	WriteActions = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}
)

// construct turns a function name into a construct id: verify-otp → VerifyOtp.
func construct(fn string) string {
	parts := strings.Split(fn, "-")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "")
}
