package hubsync

import "errors"

// Sentinel errors that callers branch on with errors.Is. Adapters (stores, the LearnWorlds adapter,
// a host's own Learners) return or wrap these so the engine can tell what happened.
var (
	// ErrNotFound: the school, learner, connection, checkpoint or record asked for does not exist.
	ErrNotFound = errors.New("hubsync: not found")
	// ErrConflict: a create found the thing already there (a learner's email or username taken).
	ErrConflict = errors.New("hubsync: already exists")
	// ErrLeaseLost: a job was acked or retried by a worker whose lease had expired and been taken
	// over; the other worker's outcome stands.
	ErrLeaseLost = errors.New("hubsync: job lease lost")
	// ErrReadOnly: a Learners implementation was asked to write a field it cannot write.
	ErrReadOnly = errors.New("hubsync: field is read-only")
	// ErrInvalidSettings: Settings.Validate found a problem; the wrapped message names it.
	ErrInvalidSettings = errors.New("hubsync: invalid settings")
	// ErrInvalidValue: a value could not be converted between the two sides (see ConversionError).
	ErrInvalidValue = errors.New("hubsync: invalid value")
	// ErrConnectionLost: the school's HubSpot connection was revoked or its refresh token refused;
	// the school stays deactivated until it is connected again.
	ErrConnectionLost = errors.New("hubsync: HubSpot connection lost")
	// ErrNotConnected: the school has never been connected, or was disconnected.
	ErrNotConnected = errors.New("hubsync: school not connected to HubSpot")
)
