package admin

type dashCache struct{}
