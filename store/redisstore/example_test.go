package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/sso/store/redisstore"
)

// A replay cache shared by all instances of the application.
func ExampleStore_Seen() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()
	cache, err := redisstore.New(context.Background(), redisstore.Config{Client: client, Prefix: "myapp:sso:"})
	if err != nil {
		panic(err)
	}
	seen, err := cache.Seen(context.Background(), "saml:acme:_assertion-id", time.Now().Add(5*time.Minute))
	if err != nil {
		fmt.Println("store failed: refuse the login")
		return
	}
	fmt.Println("replayed:", seen)
}
