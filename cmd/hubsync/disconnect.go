package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hubsync/hubsync"
)

// runDisconnect revokes the school's HubSpot refresh token and forgets its tokens
// (Engine.Disconnect) and its stored LearnWorlds connection. The school's settings, sync states and pending jobs stay: "hubsync
// connect" picks up from there. It asks for confirmation on a terminal; elsewhere --yes is
// required. A school that is not connected is not an error.
func runDisconnect(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--yes] [--json]")
	yes := fs.Bool("yes", false, "do not ask for confirmation (required when stdin is not a terminal)")
	asJSON := fs.Bool("json", false, "print the outcome as JSON: {\"school\", \"disconnected\", \"portal_id\"}")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	e, err := a.open(ctx, engineOptions{})
	if err != nil {
		return err
	}
	defer e.close()
	school := hubsync.SchoolID(a.cfg.school)
	conn, err := e.store.GetConnection(ctx, school) // a lost (deactivated) connection too
	if errors.Is(err, hubsync.ErrNotFound) {
		// The stored LearnWorlds connection goes too (with no HubSpot tokens to revoke, no
		// confirmation is asked for it: it is reconnected with the same flags).
		_, lmsErr := e.store.GetLMSConnection(ctx, school)
		hadLMS := lmsErr == nil
		if hadLMS {
			if err := e.store.DeleteLMSConnection(ctx, school); err != nil {
				return err
			}
		}
		if *asJSON {
			return writeJSONTo(a.stdout, map[string]any{"school": school, "disconnected": false, "learnworlds_forgotten": hadLMS})
		}
		fmt.Fprintf(a.stdout, "School %q is not connected to HubSpot: nothing to revoke.\n", school)
		if hadLMS {
			fmt.Fprintln(a.stdout, "Its stored LearnWorlds connection was forgotten.")
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !*yes {
		if !isTerminal(os.Stdin) {
			return &usageError{msg: "disconnect revokes the school's HubSpot tokens: confirm with --yes"}
		}
		fmt.Fprintf(a.stderr, "Disconnect school %q from HubSpot portal %d? Its tokens are revoked; \"hubsync connect\" is needed again. [y/N] ", school, conn.PortalID)
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
			return &exitError{code: exitFailure, msg: "not disconnected"}
		}
	}
	if err := e.eng.Disconnect(ctx, school); err != nil {
		return err
	}
	// serve stops taking the school's LearnWorlds webhooks at its next look at the store.
	if err := e.store.DeleteLMSConnection(ctx, school); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(a.stdout, map[string]any{"school": school, "disconnected": true, "portal_id": conn.PortalID})
	}
	fmt.Fprintf(a.stdout, "Disconnected school %q from HubSpot portal %d: the refresh token was revoked and the tokens forgotten, with the stored LearnWorlds connection.\n", school, conn.PortalID)
	fmt.Fprintln(a.stdout, "Settings and pending work are kept; \"hubsync connect\" resumes the sync.")
	return nil
}
