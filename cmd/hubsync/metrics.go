package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// serve's /metrics: the engine's OpenTelemetry instruments, read by an SDK ManualReader on each
// scrape and written in the Prometheus text exposition format (version 0.0.4) by the few lines
// below. We chose this over go.opentelemetry.io/otel/exporters/prometheus: that exporter needs
// github.com/prometheus/client_golang and its dependencies (client_model, common, procfs,
// protobuf), a dozen modules for what is here a hundred lines over the data the SDK already
// hands us; the engine's instruments are counters, gauges and explicit-bucket histograms, all
// of which the text format maps one to one.

// metricsExporter owns the meter provider the engine records into and writes its data.
type metricsExporter struct {
	reader   *sdkmetric.ManualReader
	provider *sdkmetric.MeterProvider
}

func newMetricsExporter() *metricsExporter {
	r := sdkmetric.NewManualReader()
	return &metricsExporter{reader: r, provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))}
}

// ServeHTTP answers a scrape.
func (x *metricsExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rm metricdata.ResourceMetrics
	if err := x.reader.Collect(r.Context(), &rm); err != nil {
		http.Error(w, "hubsync: collecting metrics failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = writePrometheus(w, rm)
}

// shutdown stops the provider.
func (x *metricsExporter) shutdown(ctx context.Context) { _ = x.provider.Shutdown(ctx) }

// promName turns an OTel instrument name and unit into a Prometheus metric name, as the OTel
// Prometheus exporter does: dots (and anything else outside [a-zA-Z0-9_:]) become underscores,
// a unit in braces ("{job}") is dropped, "s" becomes the _seconds suffix, and counters end in
// _total.
func promName(name, unit string, counter bool) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r == ':', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	n := b.String()
	switch unit {
	case "s":
		n += "_seconds"
	case "By":
		n += "_bytes"
	}
	if counter {
		n += "_total"
	}
	return n
}

// labelName makes an attribute key a valid label name.
func labelName(k string) string {
	var b strings.Builder
	for i, r := range k {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r >= '0' && r <= '9' && i > 0 {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// labels writes {k="v",...} for set plus the extra pairs (le for buckets); nothing when empty.
func labels(set attribute.Set, extra ...string) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		parts = append(parts, labelName(string(kv.Key))+`="`+labelEscaper.Replace(kv.Value.String())+`"`)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		parts = append(parts, extra[i]+`="`+labelEscaper.Replace(extra[i+1])+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// writePrometheus writes rm in the text format, metrics sorted by name and points by labels.
func writePrometheus(w io.Writer, rm metricdata.ResourceMetrics) error {
	type family struct {
		name, help, typ string
		lines           []string
	}
	var fams []family
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			f := family{help: m.Description}
			add := func(suffix string, set attribute.Set, v string, extra ...string) {
				f.lines = append(f.lines, f.name+suffix+labels(set, extra...)+" "+v)
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				f.name, f.typ = promName(m.Name, m.Unit, d.IsMonotonic), "gauge"
				if d.IsMonotonic {
					f.typ = "counter"
				}
				for _, p := range d.DataPoints {
					add("", p.Attributes, strconv.FormatInt(p.Value, 10))
				}
			case metricdata.Sum[float64]:
				f.name, f.typ = promName(m.Name, m.Unit, d.IsMonotonic), "gauge"
				if d.IsMonotonic {
					f.typ = "counter"
				}
				for _, p := range d.DataPoints {
					add("", p.Attributes, formatFloat(p.Value))
				}
			case metricdata.Gauge[int64]:
				f.name, f.typ = promName(m.Name, m.Unit, false), "gauge"
				for _, p := range d.DataPoints {
					add("", p.Attributes, strconv.FormatInt(p.Value, 10))
				}
			case metricdata.Gauge[float64]:
				f.name, f.typ = promName(m.Name, m.Unit, false), "gauge"
				for _, p := range d.DataPoints {
					add("", p.Attributes, formatFloat(p.Value))
				}
			case metricdata.Histogram[float64]:
				f.name, f.typ = promName(m.Name, m.Unit, false), "histogram"
				for _, p := range d.DataPoints {
					var cum uint64
					for i, b := range p.Bounds {
						cum += p.BucketCounts[i]
						add("_bucket", p.Attributes, strconv.FormatUint(cum, 10), "le", formatFloat(b))
					}
					add("_bucket", p.Attributes, strconv.FormatUint(p.Count, 10), "le", "+Inf")
					add("_sum", p.Attributes, formatFloat(p.Sum))
					add("_count", p.Attributes, strconv.FormatUint(p.Count, 10))
				}
			default:
				continue // the engine makes no other kind
			}
			fams = append(fams, f)
		}
	}
	slices.SortFunc(fams, func(a, b family) int { return strings.Compare(a.name, b.name) })
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		if f.help != "" {
			fmt.Fprintf(bw, "# HELP %s %s\n", f.name, helpEscaper.Replace(f.help))
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n", f.name, f.typ)
		if f.typ != "histogram" {
			slices.Sort(f.lines) // a histogram's lines keep their bucket order
		}
		for _, l := range f.lines {
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}
