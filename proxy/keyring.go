package proxy

import "strings"

// keyIDs names the keys of the proxy's keyring for the onboarding page:
// the current one, which encrypts, then the older ones, which still
// decrypt. Every device and proxy that should see the photos needs them.
func (s *Server) keyIDs() string {
	ids := s.ring.IDs()
	if len(ids) == 1 {
		return ids[0]
	}
	return ids[0] + " (current; older keys that still decrypt: " + strings.Join(ids[1:], ", ") + ")"
}
