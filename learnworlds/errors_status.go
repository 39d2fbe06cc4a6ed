package learnworlds

// HTTPStatus returns the response's HTTP status, for callers that classify errors by it without
// importing this package (the engine's request metrics).
func (e *APIError) HTTPStatus() int { return e.StatusCode }
