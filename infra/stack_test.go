package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

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
			tpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), &map[string]any{"RetentionInDays": 30}, jsii.Number(float64(len(routes.AllFunctions()))))
		})
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
			got := dedupe(actionsOf[fn])
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s may do %v, want exactly %v", fn, got, want)
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
		// errors + throttles per function, plus the dead-letter depth
		if want := 2*len(routes.AllFunctions()) + 1; len(alarms) != want {
			t.Errorf("%d alarms, want %d", len(alarms), want)
		}
		metrics := map[string]int{}
		for _, a := range alarms {
			metrics[props(a)["MetricName"].(string)]++
		}
		if metrics["Errors"] != len(routes.AllFunctions()) || metrics["Throttles"] != len(routes.AllFunctions()) || metrics["ApproximateNumberOfMessagesVisible"] != 1 {
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
	if a.ReadSecret {
		out = append(out, "secretsmanager:GetSecretValue")
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
