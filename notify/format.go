package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Message bounds: the smallest of the chat services' (Discord: an embed's description
// 4,096 characters, a title 256, a field 1,024; Slack's text 40,000).
const (
	maxTitle   = 250
	maxMessage = 3000
	maxField   = 1000
)

// Payload renders ev as the body of a webhook of the format.
func Payload(f Format, ev Event) ([]byte, error) {
	switch f {
	case Generic, "":
		return json.Marshal(ev)
	case Slack:
		return json.Marshal(slackMessage(ev))
	case Teams:
		return json.Marshal(teamsMessage(ev))
	case Discord:
		return json.Marshal(discordMessage(ev))
	}
	return nil, fmt.Errorf("unknown format %q", f)
}

type fact struct{ name, value string }

// facts are the fields every chat format shows, those with a value only.
func facts(ev Event) []fact {
	all := []fact{{"Environment", ev.Environment}, {"Revision", ev.Revision}}
	if p := ev.Preview; p != nil {
		all = append(all, fact{"Pull request", prNumber(p.Number)}, fact{"Namespace", p.Namespace},
			fact{"URL", p.URL}, fact{"Health", p.Health})
	}
	out := all[:0]
	for _, f := range all {
		if f.value != "" {
			out = append(out, fact{f.name, truncate(f.value, maxField)})
		}
	}
	return out
}

func prNumber(n int64) string {
	if n == 0 {
		return ""
	}
	return "#" + strconv.FormatInt(n, 10)
}

// truncate cuts s to n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Slack incoming webhooks: text, and a legacy attachment for the colour and fields.
type slackPayload struct {
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Color    string       `json:"color"`
	Title    string       `json:"title"`
	Text     string       `json:"text"`
	Fields   []slackField `json:"fields,omitempty"`
	Footer   string       `json:"footer"`
	Fallback string       `json:"fallback"`
	TS       int64        `json:"ts"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

func slackMessage(ev Event) slackPayload {
	title, msg := truncate(ev.Title(), maxTitle), truncate(ev.Message, maxMessage)
	a := slackAttachment{Color: "good", Title: title, Text: msg, Footer: "Landfall", Fallback: title, TS: ev.Time.Unix()}
	if ev.Kind.Failure() {
		a.Color = "danger"
	}
	for _, f := range facts(ev) {
		a.Fields = append(a.Fields, slackField{Title: f.name, Value: f.value, Short: true})
	}
	return slackPayload{Text: title, Attachments: []slackAttachment{a}}
}

// Teams Workflows webhooks take a message whose attachment is an Adaptive Card.
type teamsPayload struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"`
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string           `json:"$schema"`
	Type    string           `json:"type"`
	Version string           `json:"version"`
	Body    []map[string]any `json:"body"`
}

func teamsMessage(ev Event) teamsPayload {
	color := "Good"
	if ev.Kind.Failure() {
		color = "Attention"
	}
	body := []map[string]any{
		{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "color": color, "text": truncate(ev.Title(), maxTitle)},
		{"type": "TextBlock", "wrap": true, "text": truncate(ev.Message, maxMessage)},
	}
	var fs []map[string]string
	for _, f := range facts(ev) {
		fs = append(fs, map[string]string{"title": f.name, "value": f.value})
	}
	if len(fs) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": fs})
	}
	return teamsPayload{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content: teamsCard{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard",
			Version: "1.4", Body: body},
	}}}
}

// Discord webhooks: one embed with a colour, fields and a timestamp.
type discordPayload struct {
	Username string         `json:"username"`
	Embeds   []discordEmbed `json:"embeds"`
}

type discordEmbed struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Color       int            `json:"color"`
	Fields      []discordField `json:"fields,omitempty"`
	Timestamp   string         `json:"timestamp"`
}

type discordField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline"`
}

func discordMessage(ev Event) discordPayload {
	e := discordEmbed{Title: truncate(ev.Title(), maxTitle), Description: truncate(ev.Message, maxMessage),
		Color: 0x2EB886, Timestamp: ev.Time.UTC().Format(time.RFC3339)}
	if ev.Kind.Failure() {
		e.Color = 0xE01E5A
	}
	for _, f := range facts(ev) {
		e.Fields = append(e.Fields, discordField{Name: f.name, Value: f.value, Inline: true})
	}
	return discordPayload{Username: "Landfall", Embeds: []discordEmbed{e}}
}
