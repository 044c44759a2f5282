package store

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// MapEncodedLots is an account item's lots attribute as it was written
// before lots were packed (a map of named attributes per lot), for the
// tests reading items written then.
func MapEncodedLots(account map[string]types.AttributeValue) (types.AttributeValue, error) {
	lots := account[attrLots].(*types.AttributeValueMemberM)
	out := map[string]types.AttributeValue{}
	for id, v := range lots.Value {
		l, err := decodeInlineLot(id, v)
		if err != nil {
			return nil, err
		}
		if out[id], err = marshalValue(l); err != nil {
			return nil, err
		}
	}
	return &types.AttributeValueMemberM{Value: out}, nil
}
