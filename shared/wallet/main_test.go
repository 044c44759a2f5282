package wallet_test

import (
	"testing"

	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
