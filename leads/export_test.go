package leads

// BatchedBookings is how many bookings s committed in batches of two or
// more (bookbatch.go).
func BatchedBookings(s *Store) int64 { return s.batchedBookings.Load() }
