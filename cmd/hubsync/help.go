package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
)

// The sections of the shared flags in "-h", in the order shown.
const (
	groupStore       = "Store and logs"
	groupHubSpot     = "HubSpot"
	groupLearnWorlds = "LearnWorlds"
	groupTokenKey    = "Token key"
	groupNotify      = "Notifications"
)

// textDefault is a default written at the end of a flag's text: " (default X)", " (default: X)".
var textDefault = regexp.MustCompile(` \(default:? ([^()]*(?:\([^()]*\)[^()]*)*)\)$`)

var sharedGroups = []string{groupStore, groupHubSpot, groupLearnWorlds, groupTokenKey, groupNotify}

// examples are the lines "-h" ends with, by command name ("settings apply" for a subcommand).
// A command without an entry shows none.
var examples = map[string][]string{
	"connect": {
		"hubsync connect                                   # prints the URL to open, waits for HubSpot",
		"hubsync connect --refresh-token \"$REFRESH_TOKEN\"  # headless",
		"hubsync connect --refresh-token \"$REFRESH_TOKEN\" --json",
	},
	"disconnect": {"hubsync disconnect --yes"},
	"settings apply": {
		"hubsync settings apply -f settings.json",
		"hubsync settings apply -f - < settings.json",
	},
	"settings show": {"hubsync settings show --json"},
	"sync": {
		"hubsync sync                        # the school's mode decides the direction",
		"hubsync sync --direction to_lms --restart",
		"hubsync sync --json > sync.jsonl    # one JSON object a line, the last one the summary",
	},
	"serve": {
		"HUBSYNC_ADMIN_TOKEN=$(openssl rand -hex 16) hubsync serve --listen :8080 --public-url https://sync.example.com/hubspot/webhooks",
	},
	"status":   {"hubsync status", "hubsync status --json | jq .manual_sync"},
	"reseal":   {"HUBSYNC_TOKEN_KEY=\"2026-06:$(openssl rand -base64 32)\" hubsync reseal"},
	"catch-up": {"hubsync catch-up --since 72h", "hubsync catch-up --since 2026-03-02T09:00:00Z --side lms"},
}

// help prints the command's help: usage, what it does, its own flags, the shared flags by
// section, and examples. Every flag is written --name, and its text ends with the environment
// variable and the default, in that order, when it has them.
func (a *app) help(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: hubsync %s %s\n", a.name, strings.TrimSpace(a.usageLine+" [flags]"))
	if s := a.summary; s != "" {
		fmt.Fprintf(w, "\n%s.\n", strings.ToUpper(s[:1])+s[1:])
	}
	env, def := map[string]string{}, map[string]string{}
	for _, e := range a.envs {
		env[e.name], def[e.name] = e.env, e.def
	}
	byGroup := map[string][]*flag.Flag{}
	fs.VisitAll(func(f *flag.Flag) { byGroup[a.groups[f.Name]] = append(byGroup[a.groups[f.Name]], f) })
	section := func(title string, flags []*flag.Flag) {
		if len(flags) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range flags {
			kind, text := flag.UnquoteUsage(f)
			name := "--" + f.Name
			if kind != "" {
				name += " " + kind
			}
			var notes []string
			if e := env[f.Name]; e != "" {
				notes = append(notes, "env "+e)
			}
			d, isEnv := def[f.Name]
			if !isEnv {
				d = f.DefValue
				if d == "false" || d == "0" || d == "0s" {
					d = ""
				}
			}
			if m := textDefault.FindStringSubmatchIndex(text); d == "" && m != nil {
				// A default the library picks, written in the text: moved to the notes.
				text, d = text[:m[0]], text[m[2]:m[3]]
			}
			if d != "" {
				notes = append(notes, "default "+d)
			}
			if len(notes) > 0 {
				text += " (" + strings.Join(notes, ", ") + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", name, text)
		}
		_ = tw.Flush()
	}
	section("Flags", byGroup[""])
	if len(a.groups) > 0 {
		fmt.Fprintf(w, "\nShared flags (every command takes them; each is also read from its environment variable, and a flag wins)\n")
		for _, g := range sharedGroups {
			section(g, byGroup[g])
		}
	}
	if ex := examples[a.name]; len(ex) > 0 {
		fmt.Fprintln(w, "\nExamples:")
		for _, e := range ex {
			fmt.Fprintln(w, "  "+e)
		}
	}
	fmt.Fprintln(w, "\nMore: docs/cli.md. Exit codes: \"hubsync help\".")
}
