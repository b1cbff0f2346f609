package broker

import (
	"bytes"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// guardHook is the broker's only mochi hook: authentication, the ACL, the
// cap on sessions and the binding of a client id to its username.
type guardHook struct {
	mqtt.HookBase
	srv         *mqtt.Server
	auth        *Auth // nil: anyone may connect, publish and subscribe (loopback only)
	maxSessions int
}

func (h *guardHook) ID() string { return "vigil-guard" }

func (h *guardHook) Provides(b byte) bool {
	return b == mqtt.OnConnect || b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

// OnConnect refuses a client that would start a new session past the cap
// (mochi's own MaximumClients counts only connected clients, not the
// sessions that persist after a disconnect, which hold memory too), and,
// with authentication, one that reuses a client id whose session belongs to
// another user: taking the session over would disconnect that client.
func (h *guardHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	existing, ok := h.srv.Clients.Get(cl.ID)
	if !ok && h.srv.Clients.Len() >= h.maxSessions {
		code := packets.ErrServerBusy
		if cl.Properties.ProtocolVersion < 5 {
			code = packets.ErrServerUnavailable
		}
		_ = h.srv.SendConnack(cl, code, false, nil)
		return packets.ErrServerBusy
	}
	if ok && h.auth != nil && !bytes.Equal(existing.Properties.Username, cl.Properties.Username) {
		_ = h.srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
		return packets.ErrClientIdentifierNotValid
	}
	// mochi publishes a Last Will without asking the ACL: a device could
	// otherwise leave a forged retained status on another bed's topic.
	if pk.Connect.WillFlag && !h.OnACLCheck(cl, pk.Connect.WillTopic, true) {
		code := packets.ErrNotAuthorized
		if cl.Properties.ProtocolVersion < 5 {
			code = packets.Err3NotAuthorized
		}
		_ = h.srv.SendConnack(cl, code, false, nil)
		return packets.ErrNotAuthorized
	}
	return nil
}

func (h *guardHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if h.auth == nil {
		return true
	}
	if !pk.Connect.UsernameFlag || !pk.Connect.PasswordFlag || h.auth.Passwords == nil {
		return false // anonymous
	}
	return h.auth.Passwords.Check(string(pk.Connect.Username), pk.Connect.Password)
}

func (h *guardHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if h.auth == nil || h.auth.ACL == nil {
		return true
	}
	acc := Read
	if write {
		// An MQTT 5 publication by topic alias has an empty topic here:
		// mochi resolves the alias after asking, and an alias names only a
		// topic this check allowed when the alias was set.
		if topic == "" {
			return true
		}
		acc = Write
	}
	return h.auth.ACL.Allowed(string(cl.Properties.Username), cl.ID, topic, acc)
}
