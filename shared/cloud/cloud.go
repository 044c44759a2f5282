// Package cloud holds the SNS/SES sender only the enroll function needs;
// keeping it here keeps those clients out of the other functions' binaries
// (see also cloud/secrets). The wiring passes NewSender to
// app.WithSenderFrom; this package depends on the domain and awsenv only.
package cloud

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/loyalty/cashback/shared/cloud/awsenv"
	"github.com/loyalty/cashback/shared/loyalty"
)

// NewSender sends SMS through SNS and email through SES from emailFrom.
func NewSender(_ context.Context, emailFrom string) (loyalty.Sender, error) {
	c, err := awsenv.Load()
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return &AWSSender{
		SNS:       sns.NewFromConfig(c, func(o *sns.Options) { o.BaseEndpoint = awsenv.Endpoint(c, "SNS") }),
		SES:       sesv2.NewFromConfig(c, func(o *sesv2.Options) { o.BaseEndpoint = awsenv.Endpoint(c, "SESV2") }),
		EmailFrom: emailFrom,
	}, nil
}

// SNSPublisher is the part of the SNS client used.
type SNSPublisher interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SESSender is the part of the SES v2 client used.
type SESSender interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// AWSSender sends SMS through SNS and email through SES.
type AWSSender struct {
	SNS       SNSPublisher
	SES       SESSender
	EmailFrom string
}

// Send delivers m on its channel.
func (a *AWSSender) Send(ctx context.Context, m loyalty.Message) error {
	switch m.Channel {
	case "sms":
		_, err := a.SNS.Publish(ctx, &sns.PublishInput{
			PhoneNumber: aws.String(m.To),
			Message:     aws.String(m.Body),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				// One-time codes must arrive: transactional, not promotional.
				"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
			},
		})
		if err != nil {
			return fmt.Errorf("sns publish: %w", err)
		}
		return nil
	case "email":
		if a.EmailFrom == "" {
			return errors.New("email sender address is not configured")
		}
		_, err := a.SES.SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(a.EmailFrom),
			Destination:      &sestypes.Destination{ToAddresses: []string{m.To}},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String("Your code"), Charset: aws.String("UTF-8")},
				Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String(m.Body), Charset: aws.String("UTF-8")}},
			}},
		})
		if err != nil {
			return fmt.Errorf("ses send: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown channel %q", m.Channel)
}
