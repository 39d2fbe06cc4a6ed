package clock

import (
	"context"
	"testing"
	"time"
)

func TestFakeAdvanceFiresDueTimersInOrder(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Time{})
	start := f.Now()
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(1 * time.Second)
	c := f.NewTimer(5 * time.Second)
	if got := f.Timers(); got != 3 {
		t.Fatalf("Timers() = %d, want 3", got)
	}
	f.Advance(2 * time.Second)
	if got := <-b.C(); !got.Equal(start.Add(time.Second)) {
		t.Errorf("b fired at %v, want %v", got, start.Add(time.Second))
	}
	if got := <-a.C(); !got.Equal(start.Add(2 * time.Second)) {
		t.Errorf("a fired at %v", got)
	}
	select {
	case <-c.C():
		t.Fatal("c fired early")
	default:
	}
	if !c.Stop() {
		t.Error("Stop of an active timer = false")
	}
	if c.Stop() {
		t.Error("second Stop = true")
	}
	f.Advance(time.Hour)
	select {
	case <-c.C():
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestFakeResetAndZeroDuration(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Time{})
	tm := f.NewTimer(0)
	<-tm.C() // fires at once
	if tm.Reset(time.Minute) {
		t.Error("Reset of a fired timer reported active")
	}
	f.Advance(59 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("fired before its deadline")
	default:
	}
	f.Advance(time.Second)
	<-tm.C()
}

func TestSleepWithFakeClock(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Time{})
	done := make(chan error, 1)
	go func() { done <- Sleep(context.Background(), f, time.Minute) }()
	if err := f.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatalf("Sleep = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, f, time.Minute); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled ctx = %v", err)
	}
}

func TestAdvanceToNext(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Time{})
	if f.AdvanceToNext() {
		t.Fatal("AdvanceToNext with no timers = true")
	}
	start := f.Now()
	tm := f.NewTimer(90 * time.Second)
	if d, ok := f.NextDeadline(); !ok || !d.Equal(start.Add(90*time.Second)) {
		t.Fatalf("NextDeadline = %v, %v", d, ok)
	}
	if !f.AdvanceToNext() {
		t.Fatal("AdvanceToNext = false")
	}
	<-tm.C()
	if !f.Now().Equal(start.Add(90 * time.Second)) {
		t.Fatalf("Now = %v", f.Now())
	}
}

func TestRealClock(t *testing.T) {
	t.Parallel()
	c := Or(nil)
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	if c.Now().IsZero() {
		t.Fatal("zero time")
	}
}
