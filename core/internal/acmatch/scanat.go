package acmatch

// ScanAt is Scan that also tells accept where each occurrence ends: the
// index in text of the byte after the occurrence's last byte. Callers that
// know the pattern's length find where it starts.
func (m *Matcher) ScanAt(text []byte, accept func(pattern, end int) bool) int {
	if m == nil || m.n == 0 || accept == nil {
		return -1
	}
	s, off := 0, 0
	for len(text) > 0 {
		i, st := m.find(text, s)
		if st < 0 {
			return -1
		}
		end := off + i + 1
		if p := m.emit(st/m.stride, func(p int) bool { return accept(p, end) }); p >= 0 {
			return p
		}
		text, s, off = text[i+1:], st, end
	}
	return -1
}
