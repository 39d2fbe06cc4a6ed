package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubsync/hubsync"
)

// errHelp is returned when -h was asked for: the usage was printed, exit 0.
var errHelp = errors.New("help requested")

// app is one invocation: its output streams, environment and configuration.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	name           string // the subcommand
	usageLine      string // its arguments, for the help
	summary        string // its line in the command table, for the help
	cfg            config
	notify         notifyConfig // the Notifier's flags (notify.go)
	warnNoKey      sync.Once
	sealWith       hubsync.Sealer // set by reseal: the keyring, counting what it opens
	envs           []envFlag
	defaults       []func()
	// group is the help section the flags registered now belong to ("" for the command's own);
	// groups maps each shared flag's name to its section (see help.go).
	group  string
	groups map[string]string
	log    *slog.Logger
	// schoolGiven is whether --school (or HUBSYNC_SCHOOL) was set, rather than defaulted: status
	// and serve then work on that school alone.
	schoolGiven bool
}

// config is what every subcommand shares. Secrets are never given as flag defaults (-h would show
// them): a flag left unset is filled from its environment variable after parsing.
type config struct {
	school    string
	db        string
	logLevel  string
	logFormat string

	hsURL, hsAuthURL, hsID, hsSecret, hsAppID, hsRate string

	lwURL, lwID, lwSecret, lwToken, lwHookSecret, lwHookScheme, lwRate string

	tokenKey, tokenKeyFile, tokenKeysOld string
}

// envFlag ties a string flag to its environment variable and its default.
type envFlag struct {
	name, env, def string
	p              *string
}

// str registers a string flag whose value, when the flag is not given, comes from env, then def.
// The help shows the variable and the default after the text (see help.go).
func (a *app) str(fs *flag.FlagSet, p *string, name, env, def, help string) {
	fs.StringVar(p, name, "", help)
	a.envs = append(a.envs, envFlag{name: name, env: env, def: def, p: p})
	if a.group != "" {
		if a.groups == nil {
			a.groups = map[string]string{}
		}
		a.groups[name] = a.group
	}
	if def != "" {
		a.defaults = append(a.defaults, func() {
			if *p == "" {
				*p = def
			}
		})
	}
}

// flags returns the subcommand's flag set with the shared flags registered; the flags the
// subcommand registers after this call are its own, listed first by "-h". The flag package
// prints nothing: a bad flag is one usageError line, and -h prints the help on stdout.
func (a *app) flags(usageLine string) *flag.FlagSet {
	fs := a.flagSet(usageLine)
	c := &a.cfg
	a.group = groupStore
	a.str(fs, &c.school, "school", "HUBSYNC_SCHOOL", "default", "the school's id in the store (status and serve without it: every school of the store)")
	a.str(fs, &c.db, "db", "HUBSYNC_DB", "hubsync.db", "the store: a SQLite file path, or a postgres:// URL")
	a.str(fs, &c.logLevel, "log-level", "HUBSYNC_LOG_LEVEL", "", "engine log level on stderr: debug, info, warn or error (default off, info for serve)")
	a.str(fs, &c.logFormat, "log-format", "HUBSYNC_LOG_FORMAT", "text", "engine log format on stderr: text or json (one JSON object a line)")
	a.group = groupHubSpot
	a.str(fs, &c.hsURL, "hubspot-url", "HUBSYNC_HUBSPOT_URL", "", "HubSpot API base URL; point it at a sandbox, proxy or fake (default https://api.hubapi.com)")
	a.str(fs, &c.hsAuthURL, "hubspot-authorize-url", "HUBSYNC_HUBSPOT_AUTHORIZE_URL", "", "HubSpot OAuth authorize page (default https://app.hubspot.com/oauth/authorize)")
	a.str(fs, &c.hsID, "hubspot-client-id", "HUBSYNC_HUBSPOT_CLIENT_ID", "", "HubSpot app client id (required)")
	a.str(fs, &c.hsSecret, "hubspot-client-secret", "HUBSYNC_HUBSPOT_CLIENT_SECRET", "", "HubSpot app client secret (required; also verifies HubSpot webhooks)")
	a.str(fs, &c.hsAppID, "hubspot-app-id", "HUBSYNC_HUBSPOT_APP_ID", "", "HubSpot app id (timeline events)")
	a.str(fs, &c.hsRate, "hubspot-rate-limit", "HUBSYNC_HUBSPOT_RATE_LIMIT", "", "HubSpot request budget per portal as N/DURATION, e.g. 110/10s (default HubSpot's 110/10s)")
	a.group = groupLearnWorlds
	a.str(fs, &c.lwURL, "learnworlds-url", "HUBSYNC_LEARNWORLDS_URL", "", "LearnWorlds school URL, e.g. https://school.learnworlds.com")
	a.str(fs, &c.lwID, "learnworlds-client-id", "HUBSYNC_LEARNWORLDS_CLIENT_ID", "", "LearnWorlds API client id")
	a.str(fs, &c.lwSecret, "learnworlds-client-secret", "HUBSYNC_LEARNWORLDS_CLIENT_SECRET", "", "LearnWorlds API client secret (or --learnworlds-token)")
	a.str(fs, &c.lwToken, "learnworlds-token", "HUBSYNC_LEARNWORLDS_TOKEN", "", "LearnWorlds static access token (instead of the client secret)")
	a.str(fs, &c.lwHookSecret, "learnworlds-webhook-secret", "HUBSYNC_LEARNWORLDS_WEBHOOK_SECRET", "", "LearnWorlds webhook signature (Settings > Developers > Webhooks); serve needs it for /learnworlds/webhooks")
	a.str(fs, &c.lwHookScheme, "learnworlds-webhook-scheme", "HUBSYNC_LEARNWORLDS_WEBHOOK_SCHEME", "static", "how LearnWorlds signs webhooks: static (v1=<signature>) or hmac (v1=hex HMAC-SHA256 of the body)")
	a.str(fs, &c.lwRate, "learnworlds-rate-limit", "HUBSYNC_LEARNWORLDS_RATE_LIMIT", "", "LearnWorlds request budget as N/DURATION (default LearnWorlds' 30/10s)")
	a.group = groupTokenKey
	a.tokenKeyFlags(fs)
	a.group = groupNotify
	a.notifyFlags(fs)
	a.group = ""
	return fs
}

// flagSet returns a flag set without the shared flags, for commands that take none (version).
func (a *app) flagSet(usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet("hubsync "+a.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	a.usageLine = usageLine
	return fs
}

// quiet is the default log level of the one-shot commands: the engine's own logs are off (its
// failures end the command with one line); --log-level turns them on.
const quiet = slog.LevelError + 4

// parse parses args, fills unset flags from the environment and defaults, and sets up the logger.
func (a *app) parse(fs *flag.FlagSet, args []string, defaultLevel slog.Level) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.help(a.stdout, fs)
			return errHelp
		}
		return &usageError{msg: flagError(err)}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	a.schoolGiven = set["school"] || a.getenv("HUBSYNC_SCHOOL") != ""
	for _, e := range a.envs {
		if !set[e.name] {
			*e.p = a.getenv(e.env)
		}
	}
	for _, d := range a.defaults {
		d()
	}
	level := defaultLevel
	if a.cfg.logLevel != "" {
		if err := level.UnmarshalText([]byte(a.cfg.logLevel)); err != nil {
			return &usageError{msg: fmt.Sprintf("--log-level %q: want debug, info, warn or error", a.cfg.logLevel)}
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.cfg.logFormat {
	case "text", "":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return &usageError{msg: fmt.Sprintf("--log-format %q: want text or json", a.cfg.logFormat)}
	}
	return nil
}

// flagWords finds the single-dash flag names in the flag package's errors ("-frob", "flag -db").
var flagWords = regexp.MustCompile(`(defined: |argument: |flag |for )-([A-Za-z])`)

// flagError is the flag package's parse error with flags written as the help writes them
// ("--frob"), and "flag provided but not defined" said as "unknown flag".
func flagError(err error) string {
	msg := flagWords.ReplaceAllString(err.Error(), "${1}--${2}")
	return strings.Replace(msg, "flag provided but not defined:", "unknown flag:", 1)
}

// parseRate parses a request budget "N/DURATION" ("110/10s", "30/10s", "5/1s"). "" means the
// default (0, 0). N must be 1 to 1,000,000 and DURATION 1ms to 24h.
func parseRate(flagName, s string) (int, time.Duration, error) {
	if s == "" {
		return 0, 0, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("--%s %q: want N/DURATION, e.g. 110/10s", flagName, s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, 0, fmt.Errorf("--%s %q: the count %q must be a whole number from 1 to 1000000", flagName, s, ns)
	}
	d, err := time.ParseDuration(strings.TrimSpace(ds))
	if err != nil || d < time.Millisecond || d > 24*time.Hour {
		return 0, 0, fmt.Errorf("--%s %q: the period %q must be a duration from 1ms to 24h, e.g. 10s", flagName, s, ds)
	}
	return n, d, nil
}
