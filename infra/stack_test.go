package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/routes"
)

// must turns a CDK assertion panic into an ordinary test failure.
func must(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

type synth struct {
	stack    *Stack
	template assertions.Template
	doc      map[string]any
}

func build(t *testing.T, stage string) synth {
	t.Helper()
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	dir := t.TempDir()
	t.Setenv("CDK_OUTDIR", filepath.Join(dir, "cdk.out"))
	buildDir := filepath.Join(dir, "build")
	for _, fn := range routes.AllFunctions() {
		if err := os.MkdirAll(filepath.Join(buildDir, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(buildDir, fn, "bootstrap"), []byte("fixture"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
	s := NewLoyaltyStack(app, "Test-"+stage, Props{Stage: stage, BuildDir: buildDir, AlarmEmail: "ops@example.com"})
	tpl := assertions.Template_FromStack(s.Stack, nil)
	var doc map[string]any
	b, _ := json.Marshal(tpl.ToJSON())
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return synth{stack: s, template: tpl, doc: doc}
}

func (s synth) resources(kind string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.doc["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == kind {
			out[id] = res
		}
	}
	return out
}

func props(r map[string]any) map[string]any { p, _ := r["Properties"].(map[string]any); return p }

func TestStack(t *testing.T) {
	s := build(t, "dev")
	tpl := s.template

	t.Run("table", func(t *testing.T) {
		must(t, "table keys, billing, PITR, TTL, index", func() {
			tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
				"KeySchema":                        []any{map[string]any{"AttributeName": "PK", "KeyType": "HASH"}, map[string]any{"AttributeName": "SK", "KeyType": "RANGE"}},
				"BillingMode":                      "PAY_PER_REQUEST",
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
				"GlobalSecondaryIndexes": []any{map[string]any{
					"IndexName":  "GSI1",
					"KeySchema":  []any{map[string]any{"AttributeName": "GSI1PK", "KeyType": "HASH"}, map[string]any{"AttributeName": "GSI1SK", "KeyType": "RANGE"}},
					"Projection": map[string]any{"ProjectionType": "KEYS_ONLY"},
				}},
			})
		})
		must(t, "dev tables are not retained", func() {
			tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), &map[string]any{"DeletionPolicy": "Delete"})
		})
	})

	t.Run("functions", func(t *testing.T) {
		fns := s.resources("AWS::Lambda::Function")
		if len(fns) != len(routes.AllFunctions()) {
			t.Fatalf("%d functions, want %d", len(fns), len(routes.AllFunctions()))
		}
		for id, f := range fns {
			p := props(f)
			if p["Runtime"] != "provided.al2023" || fmt.Sprint(p["Architectures"]) != "[arm64]" || p["Handler"] != "bootstrap" {
				t.Errorf("%s: %v %v %v", id, p["Runtime"], p["Architectures"], p["Handler"])
			}
			if lc, _ := p["LoggingConfig"].(map[string]any); lc["LogFormat"] != "JSON" {
				t.Errorf("%s: logging %v", id, p["LoggingConfig"])
			}
		}
		must(t, "log retention", func() {
			// one log group per function, plus the API's access log
			tpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), &map[string]any{"RetentionInDays": 30}, jsii.Number(float64(len(routes.AllFunctions())+1)))
		})
	})

	t.Run("dead letters: the asynchronously invoked sweep has a queue, HTTP functions say why not", func(t *testing.T) {
		dlq := *s.stack.GetLogicalId(s.stack.DLQ.Node().DefaultChild().(awscdk.CfnElement))
		for fn, f := range s.stack.Functions {
			id := *s.stack.GetLogicalId(f.Node().DefaultChild().(awscdk.CfnElement))
			res := s.doc["Resources"].(map[string]any)[id].(map[string]any)
			dl, _ := props(res)["DeadLetterConfig"].(map[string]any)
			if fn == routes.FnExpireSweep || fn == routes.FnDeliverWebhooks || fn == routes.FnSendCampaigns {
				q := dlq
				if fn == routes.FnDeliverWebhooks {
					q = *s.stack.GetLogicalId(s.stack.Webhooks.DLQ.Node().DefaultChild().(awscdk.CfnElement))
				}
				if fn == routes.FnSendCampaigns {
					q = *s.stack.GetLogicalId(s.stack.Campaigns.DLQ.Node().DefaultChild().(awscdk.CfnElement))
				}
				want := map[string]any{"TargetArn": map[string]any{"Fn::GetAtt": []any{q, "Arn"}}}
				if !reflect.DeepEqual(dl, want) {
					t.Errorf("sweep dead letters %v, want %v", dl, want)
				}
				if len(checkovSkips(res)) != 0 {
					t.Errorf("sweep skips checkov checks: %v", checkovSkips(res))
				}
				continue
			}
			if dl != nil {
				t.Errorf("%s has a dead-letter queue it would never use: %v", fn, dl)
			}
			if skips := checkovSkips(res); len(skips) != 1 || skips["CKV_AWS_116"] == "" {
				t.Errorf("%s: checkov skips %v, want CKV_AWS_116 with its reason", fn, skips)
			}
		}
	})

	t.Run("checkov skips in the template name a check and give a reason", func(t *testing.T) {
		want := map[string]string{ // resource type → the one check it may skip
			"AWS::Lambda::Function":       "CKV_AWS_116",
			"AWS::DynamoDB::Table":        "CKV_AWS_119",
			"AWS::SecretsManager::Secret": "CKV_AWS_149",
			"AWS::SNS::Topic":             "CKV_AWS_26",
			"AWS::SQS::Queue":             "CKV_AWS_27",
		}
		n := 0
		for id, r := range s.doc["Resources"].(map[string]any) {
			res := r.(map[string]any)
			for check, reason := range checkovSkips(res) {
				n++
				if want[res["Type"].(string)] != check {
					t.Errorf("%s (%s) skips %s", id, res["Type"], check)
				}
				if len(reason) < 40 {
					t.Errorf("%s skips %s with reason %q", id, check, reason)
				}
			}
		}
		// the HTTP functions and dispatch (all but the sweep and the webhook
		// and campaign workers), the table, the OTP secret, the alarm topic,
		// the sweep's DLQ; the webhook key, the kick queue and its DLQ; the
		// feed's failure queue; the wallet secret; the campaign kick queue
		// and its DLQ
		if want := len(routes.AllFunctions()) - 3 + 4 + 3 + 1 + 1 + 2; n != want {
			t.Errorf("%d checkov skips in the template, want %d", n, want)
		}
	})

	t.Run("API access log", func(t *testing.T) {
		if !json.Valid([]byte(AccessLogFormat)) {
			t.Fatalf("access log format is not JSON: %s", AccessLogFormat)
		}
		for _, leak := range []string{"sourceIp", "$context.path", "userAgent", "authorizer"} {
			if strings.Contains(AccessLogFormat, leak) {
				t.Errorf("access log format logs %s", leak)
			}
		}
		stages := s.resources("AWS::ApiGatewayV2::Stage")
		if len(stages) != 1 {
			t.Fatalf("%d stages", len(stages))
		}
		for id, st := range stages {
			als, _ := props(st)["AccessLogSettings"].(map[string]any)
			dest, _ := als["DestinationArn"].(map[string]any)["Fn::GetAtt"].([]any)
			if als["Format"] != AccessLogFormat || len(dest) != 2 || dest[1] != "Arn" {
				t.Fatalf("stage %s access log settings %v", id, als)
			}
			lg := s.doc["Resources"].(map[string]any)[dest[0].(string)].(map[string]any)
			if lg["Type"] != "AWS::Logs::LogGroup" || props(lg)["RetentionInDays"] != float64(30) {
				t.Errorf("access log destination %v", lg)
			}
		}
	})

	t.Run("no wildcard actions, exact grants per function", func(t *testing.T) {
		policies := s.resources("AWS::IAM::Policy")
		if len(policies) == 0 {
			t.Fatal("no policies")
		}
		roleOf := map[string]string{} // role logical id → function
		for fn, f := range s.stack.Functions {
			roleOf[*s.stack.GetLogicalId(f.Role().Node().DefaultChild().(awscdk.CfnElement))] = fn
		}
		actionsOf := map[string][]string{}
		for id, pol := range policies {
			doc := props(pol)["PolicyDocument"].(map[string]any)
			for _, st := range doc["Statement"].([]any) {
				for _, a := range asList(st.(map[string]any)["Action"]) {
					if strings.Contains(a, "*") {
						t.Errorf("policy %s has wildcard action %s", id, a)
					}
					if st.(map[string]any)["Effect"] != "Allow" {
						continue // a Deny grants nothing (see the SMS test)
					}
					for _, r := range props(pol)["Roles"].([]any) {
						role := r.(map[string]any)["Ref"].(string)
						if fn, ok := roleOf[role]; ok {
							actionsOf[fn] = append(actionsOf[fn], a)
						}
					}
				}
			}
		}
		for _, fn := range routes.AllFunctions() {
			want := expectedActions(routes.Permissions[fn])
			switch fn {
			case routes.FnExpireSweep, routes.FnDeliverWebhooks, routes.FnSendCampaigns:
				// Lambda sends its failed asynchronous invocations to the DLQ.
				want = dedupe(append(want, "sqs:SendMessage"))
			case routes.FnDispatch:
				// The event source mapping reports failed batches to its queue.
				want = dedupe(append(want, "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"))
			}
			if fn == routes.FnDeliverWebhooks || fn == routes.FnSendCampaigns {
				// What the SQS event source mapping needs to poll the kicks.
				want = dedupe(append(want, "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"))
			}
			got := dedupe(actionsOf[fn])
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s may do %v, want exactly %v", fn, got, want)
			}
		}
	})

	t.Run("wallet: only the wallet function reads the wallet secret, and it serves the wallets' routes", func(t *testing.T) {
		walletSecret := *s.stack.GetLogicalId(s.stack.WalletSecret.Node().DefaultChild().(awscdk.CfnElement))
		otpSecret := ""
		for id := range s.resources("AWS::SecretsManager::Secret") {
			if id != walletSecret {
				otpSecret = id
			}
		}
		secret := props(s.doc["Resources"].(map[string]any)[walletSecret].(map[string]any))
		gen, _ := secret["GenerateSecretString"].(map[string]any)
		if gen["GenerateStringKey"] != "tokenKey" || gen["SecretStringTemplate"] != "{}" {
			t.Errorf("wallet secret generates %v, want a tokenKey in a JSON object", gen)
		}
		roleOf := map[string]string{}
		for fn, f := range s.stack.Functions {
			roleOf[*s.stack.GetLogicalId(f.Role().Node().DefaultChild().(awscdk.CfnElement))] = fn
		}
		readers := map[string]string{} // function → secret it reads
		for _, pol := range s.resources("AWS::IAM::Policy") {
			for _, raw := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := raw.(map[string]any)
				if !slices.Contains(asList(st["Action"]), "secretsmanager:GetSecretValue") {
					continue
				}
				ref, _ := st["Resource"].(map[string]any)["Ref"].(string)
				for _, r := range props(pol)["Roles"].([]any) {
					fn := roleOf[r.(map[string]any)["Ref"].(string)]
					if ref == walletSecret {
						readers[fn] = "wallet"
					} else if ref == otpSecret && readers[fn] == "" {
						readers[fn] = "otp"
					}
				}
			}
		}
		for _, fn := range routes.AllFunctions() {
			if got, want := readers[fn] == "wallet", routes.Permissions[fn].ReadWalletSecret; got != want {
				t.Errorf("%s reads the wallet secret: %v, want %v", fn, got, want)
			}
		}
		if readers[routes.FnWallet] != "wallet" {
			t.Errorf("the wallet function does not read the wallet secret")
		}
		id := *s.stack.GetLogicalId(s.stack.Functions[routes.FnWallet].Node().DefaultChild().(awscdk.CfnElement))
		env := props(s.doc["Resources"].(map[string]any)[id].(map[string]any))["Environment"].(map[string]any)["Variables"].(map[string]any)
		if ref, _ := env[layout.EnvWalletSecretARN].(map[string]any); ref["Ref"] != walletSecret {
			t.Errorf("wallet function's %s = %v, want the wallet secret", layout.EnvWalletSecretARN, env[layout.EnvWalletSecretARN])
		}
		for _, path := range []string{"GET /wallet/apple/v1/passes/{passTypeIdentifier}/{serialNumber}", "POST /wallet/google/callback", "GET /v1/members/{memberId}/pass.pkpass"} {
			must(t, "route "+path, func() {
				tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), &map[string]any{"RouteKey": path})
			})
		}
	})

	t.Run("SMS publish only to phone numbers, in the stack's region", func(t *testing.T) {
		roleOf := map[string]string{} // role logical id → function
		for fn, f := range s.stack.Functions {
			roleOf[*s.stack.GetLogicalId(f.Role().Node().DefaultChild().(awscdk.CfnElement))] = fn
		}
		allows, denies := map[string]int{}, map[string]int{}
		for id, pol := range s.resources("AWS::IAM::Policy") {
			for _, raw := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := raw.(map[string]any)
				if !slices.Contains(asList(st["Action"]), "sns:Publish") {
					continue
				}
				for _, r := range props(pol)["Roles"].([]any) {
					fn := roleOf[r.(map[string]any)["Ref"].(string)]
					if !routes.Permissions[fn].SendSMS {
						t.Errorf("%s (policy %s) may publish to SNS but sends no SMS", fn, id)
					}
					switch st["Effect"] {
					case "Allow":
						allows[fn]++
						// Phone numbers have no ARN: "*", held to the stack's region.
						want := map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": map[string]any{"Ref": "AWS::Region"}}}
						if st["Resource"] != "*" || !reflect.DeepEqual(st["Condition"], want) {
							t.Errorf("%s: SMS allow %v on %v, want on * with condition %v", fn, st["Condition"], st["Resource"], want)
						}
					case "Deny":
						denies[fn]++
						// Every SNS ARN (topics, platform endpoints) in any region and account.
						want := map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":sns:*:*:*"}}}
						if !reflect.DeepEqual(st["Resource"], want) || st["Condition"] != nil {
							t.Errorf("%s: SNS deny on %v (condition %v), want on %v unconditionally", fn, st["Resource"], st["Condition"], want)
						}
					}
				}
			}
		}
		for _, fn := range routes.AllFunctions() {
			want := 0
			if routes.Permissions[fn].SendSMS {
				want = 1
			}
			if allows[fn] != want || denies[fn] != want {
				t.Errorf("%s: %d SMS allows and %d SNS denies, want %d of each", fn, allows[fn], denies[fn], want)
			}
		}
	})

	t.Run("no write action allowed on every resource without a condition (checkov CKV_AWS_111)", func(t *testing.T) {
		// The DynamoDB, SES and secret grants name their resources; the only
		// grant that must say "*" (SMS) carries a condition.
		for id, pol := range s.resources("AWS::IAM::Policy") {
			for _, raw := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := raw.(map[string]any)
				if st["Effect"] == "Allow" && slices.Contains(asAnyList(st["Resource"]), any("*")) && st["Condition"] == nil {
					t.Errorf("policy %s allows %v on * without a condition", id, st["Action"])
				}
			}
		}
	})

	t.Run("every route reaches the function of its operation", func(t *testing.T) {
		integrationTarget := map[string]string{} // integration id → function logical id
		for id, in := range s.resources("AWS::ApiGatewayV2::Integration") {
			p := props(in)
			if p["PayloadFormatVersion"] != "2.0" {
				t.Errorf("integration %s payload %v", id, p["PayloadFormatVersion"])
			}
			uri := p["IntegrationUri"].(map[string]any)["Fn::GetAtt"].([]any)
			integrationTarget[id] = uri[0].(string)
		}
		fnLogical := map[string]string{}
		for fn, f := range s.stack.Functions {
			fnLogical[*s.stack.GetLogicalId(f.Node().DefaultChild().(awscdk.CfnElement))] = fn
		}
		got := map[string]string{}
		for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
			p := props(r)
			target := p["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)
			integ := target[1].(map[string]any)["Ref"].(string)
			got[p["RouteKey"].(string)] = fnLogical[integrationTarget[integ]]
		}
		for _, r := range routes.Routes {
			key := r.Method + " " + r.Path
			if got[key] != r.Function {
				t.Errorf("route %s reaches %q, want %q", key, got[key], r.Function)
			}
		}
		if len(got) != len(routes.Routes) {
			t.Errorf("%d routes in the API, %d in the table", len(got), len(routes.Routes))
		}
		must(t, "throttling defaults", func() {
			tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), &map[string]any{
				"DefaultRouteSettings": map[string]any{"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100},
			})
		})
	})

	t.Run("schedule, retries, dead letters, alarms, outputs", func(t *testing.T) {
		must(t, "schedule", func() {
			tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), &map[string]any{
				"ScheduleExpression": "rate(5 minutes)",
				"Target": assertions.Match_ObjectLike(&map[string]any{
					"RetryPolicy":      map[string]any{"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
					"DeadLetterConfig": assertions.Match_ObjectLike(&map[string]any{}),
				}),
			})
		})
		must(t, "DLQ", func() {
			tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": true})
		})
		alarms := s.resources("AWS::CloudWatch::Alarm")
		// errors + throttles per function, plus the dead-letter depths of the
		// sweep and of the webhook and campaign kicks, the two kick
		// backlogs, the feed's failed batches and the feed's lag
		if want := 2*len(routes.AllFunctions()) + 7; len(alarms) != want {
			t.Errorf("%d alarms, want %d", len(alarms), want)
		}
		metrics := map[string]int{}
		for _, a := range alarms {
			metrics[props(a)["MetricName"].(string)]++
		}
		if metrics["Errors"] != len(routes.AllFunctions()) || metrics["Throttles"] != len(routes.AllFunctions()) || metrics["ApproximateNumberOfMessagesVisible"] != 4 || metrics["ApproximateAgeOfOldestMessage"] != 2 || metrics["IteratorAge"] != 1 {
			t.Errorf("alarm metrics %v", metrics)
		}
		must(t, "email subscription", func() {
			tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), &map[string]any{"Protocol": "email", "Endpoint": "ops@example.com"})
		})
		outputs := s.doc["Outputs"].(map[string]any)
		if _, ok := outputs["ApiUrl"]; !ok {
			t.Error("no ApiUrl output")
		}
		if _, ok := outputs["TableName"]; !ok {
			t.Error("no TableName output")
		}
	})
}

// Webhook delivery: the kick queue with its dead letters feeds the worker
// (batches, partial failures reported), a schedule reconciles lost kicks,
// alarms watch dead kicks and the backlog, and only the two webhook
// functions see the sealing key and the queue.
func TestWebhookDelivery(t *testing.T) {
	s := build(t, "dev")
	tpl := s.template
	id := func(c interface{ Node() constructs.Node }) string {
		return *s.stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
	}
	kicks, dlq, key := id(s.stack.Webhooks.Kicks), id(s.stack.Webhooks.DLQ), id(s.stack.Webhooks.Key)
	worker := id(s.stack.Functions[routes.FnDeliverWebhooks])
	must(t, "kick queue", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{
			"VisibilityTimeout":    360,
			"SqsManagedSseEnabled": true,
			"RedrivePolicy":        map[string]any{"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{dlq, "Arn"}}, "maxReceiveCount": 5},
		})
	})
	must(t, "worker driven by the kicks", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
			"EventSourceArn":        map[string]any{"Fn::GetAtt": []any{kicks, "Arn"}},
			"FunctionName":          map[string]any{"Ref": worker},
			"BatchSize":             10,
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
		})
	})
	must(t, "worker timeout within the visibility", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
			"Description": "loyalty " + routes.FnDeliverWebhooks, "Timeout": 60,
		})
	})
	must(t, "reconciliation schedule", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), &map[string]any{
			"ScheduleExpression": "rate(5 minutes)",
			"Target": assertions.Match_ObjectLike(&map[string]any{
				"Arn":              map[string]any{"Fn::GetAtt": []any{worker, "Arn"}},
				"Input":            "{}",
				"DeadLetterConfig": map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{dlq, "Arn"}}},
			}),
		})
	})
	must(t, "alarms", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName": "ApproximateAgeOfOldestMessage", "Threshold": 1800,
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{kicks, "QueueName"}}}},
		})
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1,
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{dlq, "QueueName"}}}},
		})
	})
	for fn, f := range s.stack.Functions {
		res := s.doc["Resources"].(map[string]any)[id(f)].(map[string]any)
		vars, _ := props(res)["Environment"].(map[string]any)["Variables"].(map[string]any)
		_, hasKey := vars["LOYALTY_WEBHOOK_KEY_ARN"]
		_, hasQueue := vars["LOYALTY_WEBHOOK_QUEUE_URL"]
		// The dispatcher queues deliveries (kicks) but never sees secrets.
		webhookFn := fn == routes.FnWebhooks || fn == routes.FnDeliverWebhooks
		if hasKey != webhookFn || hasQueue != (webhookFn || fn == routes.FnDispatch) {
			t.Errorf("%s: key %v, queue %v", fn, hasKey, hasQueue)
		}
		if hasKey && !reflect.DeepEqual(vars["LOYALTY_WEBHOOK_KEY_ARN"], map[string]any{"Ref": key}) {
			t.Errorf("%s: key %v", fn, vars["LOYALTY_WEBHOOK_KEY_ARN"])
		}
		// Loopback receivers are for a deployment to an emulator only.
		if _, loopback := vars["LOYALTY_WEBHOOK_LOOPBACK"]; loopback {
			t.Errorf("%s: webhook receivers on loopback allowed in a cloud stack", fn)
		}
	}
}

// Campaign sending: the kick queue with its dead letters feeds the worker
// one campaign at a time, a schedule runs due campaigns every minute,
// alarms watch dead kicks and the backlog, and only the campaign functions
// see the queue.
func TestCampaignSending(t *testing.T) {
	s := build(t, "dev")
	tpl := s.template
	id := func(c interface{ Node() constructs.Node }) string {
		return *s.stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
	}
	kicks, dlq := id(s.stack.Campaigns.Kicks), id(s.stack.Campaigns.DLQ)
	worker := id(s.stack.Functions[routes.FnSendCampaigns])
	must(t, "kick queue", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{
			"VisibilityTimeout":    6 * campaignTimeoutSeconds,
			"SqsManagedSseEnabled": true,
			"RedrivePolicy":        map[string]any{"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{dlq, "Arn"}}, "maxReceiveCount": 3},
		})
	})
	must(t, "worker driven by the kicks", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
			"EventSourceArn":        map[string]any{"Fn::GetAtt": []any{kicks, "Arn"}},
			"FunctionName":          map[string]any{"Ref": worker},
			"BatchSize":             1,
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
		})
	})
	must(t, "worker timeout within the visibility", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
			"Description": "loyalty " + routes.FnSendCampaigns, "Timeout": campaignTimeoutSeconds,
		})
	})
	must(t, "schedule", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), &map[string]any{
			"ScheduleExpression": "rate(1 minute)",
			"Target": assertions.Match_ObjectLike(&map[string]any{
				"Arn":              map[string]any{"Fn::GetAtt": []any{worker, "Arn"}},
				"DeadLetterConfig": map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{dlq, "Arn"}}},
			}),
		})
	})
	must(t, "alarms", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName": "ApproximateAgeOfOldestMessage", "Threshold": 1800,
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{kicks, "QueueName"}}}},
		})
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1,
			"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{dlq, "QueueName"}}}},
		})
	})
	for fn, f := range s.stack.Functions {
		res := s.doc["Resources"].(map[string]any)[id(f)].(map[string]any)
		vars, _ := props(res)["Environment"].(map[string]any)["Variables"].(map[string]any)
		_, hasQueue := vars["LOYALTY_CAMPAIGN_QUEUE_URL"]
		if hasQueue != (fn == routes.FnCampaigns || fn == routes.FnSendCampaigns) {
			t.Errorf("%s: campaign queue %v", fn, hasQueue)
		}
	}
}

// The feed: the table's stream (new and old images) into the dispatch
// function through one event source mapping with bisection, bounded
// retries and record age, a failure queue and a tumbling window (for the
// shard id), one batch per shard at a time; no HTTP route reaches it; its
// failure queue and its lag raise alarms; only it reads the stream.
func TestFeed(t *testing.T) {
	s := build(t, "dev")
	tpl := s.template
	logical := func(c interface{ Node() constructs.Node }) string {
		return *s.stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
	}
	table, dispatch, failures := logical(s.stack.Table), logical(s.stack.Functions[routes.FnDispatch]), logical(s.stack.FeedFailures)
	must(t, "stream on the table", func() {
		tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"StreamSpecification": map[string]any{"StreamViewType": "NEW_AND_OLD_IMAGES"},
		})
	})
	mappings := map[string]map[string]any{}
	for id, m := range s.resources("AWS::Lambda::EventSourceMapping") {
		if reflect.DeepEqual(props(m)["FunctionName"], map[string]any{"Ref": dispatch}) {
			mappings[id] = m
		}
	}
	if len(mappings) != 1 {
		t.Fatalf("%d event source mappings into dispatch, want 1", len(mappings))
	}
	for id, m := range mappings {
		p := props(m)
		want := map[string]any{
			"EventSourceArn":                 map[string]any{"Fn::GetAtt": []any{table, "StreamArn"}},
			"FunctionName":                   map[string]any{"Ref": dispatch},
			"StartingPosition":               "TRIM_HORIZON",
			"BatchSize":                      float64(FeedBatchSize),
			"MaximumBatchingWindowInSeconds": float64(0),
			"ParallelizationFactor":          float64(1),
			"BisectBatchOnFunctionError":     true,
			"MaximumRetryAttempts":           float64(FeedRetryAttempts),
			"MaximumRecordAgeInSeconds":      float64(FeedMaxRecordAgeHours * 3600),
			"TumblingWindowInSeconds":        float64(FeedWindowSeconds),
			"DestinationConfig":              map[string]any{"OnFailure": map[string]any{"Destination": map[string]any{"Fn::GetAtt": []any{failures, "Arn"}}}},
		}
		for k, v := range want {
			if !reflect.DeepEqual(p[k], v) {
				t.Errorf("mapping %s: %s = %v, want %v", id, k, p[k], v)
			}
		}
		fc, _ := p["FilterCriteria"].(map[string]any)
		filters, _ := fc["Filters"].([]any)
		if len(filters) != 1 {
			t.Fatalf("filters %v", p["FilterCriteria"])
		}
		var pattern map[string]any
		if err := json.Unmarshal([]byte(filters[0].(map[string]any)["Pattern"].(string)), &pattern); err != nil {
			t.Fatal(err)
		}
		sk := fmt.Sprint(pattern["dynamodb"].(map[string]any)["Keys"].(map[string]any)["SK"])
		if fmt.Sprint(pattern["eventName"]) != "[INSERT MODIFY]" || sk != "map[S:[map[prefix:L#] A IDEM]]" {
			t.Errorf("filter pattern %v", pattern)
		}
	}
	must(t, "failure queue encrypted, kept 14 days", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": true})
	})
	alarmsOn := map[string]bool{}
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		for _, d := range asAnyList(p["Dimensions"]) {
			dm, _ := d.(map[string]any)
			if v, ok := dm["Value"].(map[string]any); ok {
				for _, ref := range []any{v["Ref"], v["Fn::GetAtt"]} {
					switch r := ref.(type) {
					case string:
						alarmsOn[p["MetricName"].(string)+" "+r] = true
					case []any:
						alarmsOn[p["MetricName"].(string)+" "+r[0].(string)] = true
					}
				}
			}
		}
	}
	for _, want := range []string{"ApproximateNumberOfMessagesVisible " + failures, "IteratorAge " + dispatch, "Errors " + dispatch} {
		if !alarmsOn[want] {
			t.Errorf("no alarm on %s; alarms on %v", want, alarmsOn)
		}
	}
	for _, r := range routes.Routes {
		if r.Function == routes.FnDispatch {
			t.Errorf("route %s %s reaches dispatch", r.Method, r.Path)
		}
	}
	for id, in := range s.resources("AWS::ApiGatewayV2::Integration") {
		if fmt.Sprint(props(in)["IntegrationUri"]) == fmt.Sprint(map[string]any{"Fn::GetAtt": []any{dispatch, "Arn"}}) {
			t.Errorf("integration %s reaches dispatch", id)
		}
	}
	for fn, a := range routes.Permissions {
		if a.ReadStream != (fn == routes.FnDispatch) {
			t.Errorf("%s reads the stream: %v", fn, a.ReadStream)
		}
	}
}

func TestProductionRetainsTheTable(t *testing.T) {
	s := build(t, "prod")
	must(t, "prod table retained and protected", func() {
		s.template.HasResource(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"DeletionPolicy": "Retain",
			"Properties":     assertions.Match_ObjectLike(&map[string]any{"DeletionProtectionEnabled": true}),
		})
	})
}

func expectedActions(a routes.Access) []string {
	var out []string
	if a.ReadTable {
		out = append(out, ReadActions...)
	}
	if a.WriteTable {
		out = append(out, WriteActions...)
	}
	if a.QueryIndex {
		out = append(out, "dynamodb:Query")
	}
	if a.SendSMS {
		out = append(out, "sns:Publish")
	}
	if a.SendEmail {
		out = append(out, "ses:SendEmail", "ses:SendRawEmail")
	}
	if a.ReadSecret || a.WebhookKey || a.ReadWalletSecret {
		out = append(out, "secretsmanager:GetSecretValue")
	}
	if a.KickWebhooks || a.KickCampaigns {
		out = append(out, "sqs:SendMessage")
	}
	if a.ReadStream {
		out = append(out, StreamActions...)
	}
	return dedupe(out)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// checkovSkips are a template resource's checkov skips: check id → reason.
func checkovSkips(res map[string]any) map[string]string {
	out := map[string]string{}
	md, _ := res["Metadata"].(map[string]any)
	ck, _ := md["checkov"].(map[string]any)
	skips, _ := ck["skip"].([]any)
	for _, sk := range skips {
		m, _ := sk.(map[string]any)
		id, _ := m["id"].(string)
		out[id], _ = m["comment"].(string)
	}
	return out
}

// asAnyList is a statement field that may be one value or a list.
func asAnyList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func asList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, s := range x {
			out = append(out, s.(string))
		}
		return out
	}
	return nil
}
