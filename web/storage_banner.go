package web

// storageError is the text of the storage banner: why the local TSDB cannot write, or ""
// while writes succeed or when the UI was built without a storage check.
func (u *UI) storageError() string {
	if u.storageErr == nil {
		return ""
	}
	if err := u.storageErr(); err != nil {
		return err.Error()
	}
	return ""
}
