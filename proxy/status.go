package proxy

import "jpegveil/proxy/internal/setup"

// setupStatus is what the onboarding page says about key backups and
// photos the services did not keep.
func (s *Server) setupStatus() setup.Status {
	var st setup.Status
	if s.backupMissing != nil {
		st.Unbacked = s.backupMissing()
	}
	s.health.mu.Lock()
	st.Lost, st.Changed, st.Recent = s.health.lost, s.health.changed, append([]string(nil), s.health.recent...)
	s.health.mu.Unlock()
	st.Refused = s.reencoders.hosts()
	return st
}
