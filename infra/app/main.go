// Command app is the CDK app (cdk.json runs it): one loyalty stack per stage.
// Settings come from CDK context (-c stage=prod) or the environment.
package main

import (
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty/cashback/infra"
)

func setting(app awscdk.App, key, env, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	stage := setting(app, "stage", "LOYALTY_STAGE", "dev")
	build, _ := filepath.Abs(setting(app, "buildDir", "LOYALTY_BUILD_DIR", "../build"))
	var env *awscdk.Environment
	if acct, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); acct != "" && region != "" {
		env = &awscdk.Environment{Account: jsii.String(acct), Region: jsii.String(region)}
	}
	infra.NewLoyaltyStack(app, "Loyalty-"+stage, infra.Props{
		StackProps:    awscdk.StackProps{Env: env},
		Stage:         stage,
		BuildDir:      build,
		SweepSchedule: setting(app, "sweepSchedule", "LOYALTY_SWEEP_SCHEDULE", "rate(5 minutes)"),
		AlarmEmail:    setting(app, "alarmEmail", "LOYALTY_ALARM_EMAIL", ""),
		NotifierMode:  setting(app, "notifier", "LOYALTY_NOTIFIER", "aws"),
		EmailFrom:     setting(app, "emailFrom", "LOYALTY_EMAIL_FROM", ""),
		X86:           setting(app, "arch", "LOYALTY_LAMBDA_ARCH", "arm64") == "amd64",
		Endpoint:      setting(app, "endpoint", "LOYALTY_EMULATOR_ENDPOINT", ""),
	})
	app.Synth(nil)
}
