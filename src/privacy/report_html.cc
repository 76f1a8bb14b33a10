// The access report (GDPR Art. 15) as a page a person can read and print: one table per
// kind of information, every value HTML-escaped.
#include <string>

#include "privacy/ledger.h"

namespace rapport::privacy {

namespace {

std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Text(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return Escape(v.get<std::string>());
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) out += (out.empty() ? "" : ", ") + Text(item);
    return out;
  }
  return Escape(v.dump());
}

std::string Row(std::initializer_list<std::string> cells, const char* tag = "td") {
  std::string out = "<tr>";
  for (const auto& c : cells) out += std::string("<") + tag + ">" + c + "</" + tag + ">";
  return out + "</tr>\n";
}

}  // namespace

std::string AccessReportHtml(const Json& r) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
      "<title>Auskunft nach Art. 15 DSGVO / Access report</title><style>"
      "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
      "table{border-collapse:collapse;width:100%;margin-bottom:1.5em}"
      "th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}"
      "th{background:#eee}@media print{body{margin:0}}</style></head><body>\n";
  h += "<h1>Access report (GDPR Art. 15)</h1>\n<p>Person <b>" + Text(r["person"]) +
       "</b>, generated " + Text(r["generated_at"]) + ".</p>\n";

  h +=
      "<h2>Your data as we use it</h2>\n<table>" +
      Row({"Field", "Value", "Source", "Purposes", "Legal basis", "Collected", "Recipients"}, "th");
  for (const auto& [name, g] : r["golden"].items()) {
    const Json& p = g["provenance"];
    h += Row({Escape(name), Text(g["value"]), Text(g["source"]), Text(p["purposes"]),
              Text(p["legal_basis"]), Text(p["collected_at"]), Text(g["recipients"])});
  }
  h += "</table>\n";

  h += "<h2>Where each datum came from</h2>\n";
  for (const auto& rec : r["records"]) {
    const Json& p = rec["provenance"];
    h += "<h3>Record " + Text(rec["record"]) + " from " + Text(rec["source"]) + "</h3>\n<p>" +
         "Channel: " + Text(p["channel"]) + "; organisation: " + Text(p["organisation"]) +
         "; purposes: " + Text(p["purposes"]) + "; legal basis: " + Text(p["legal_basis"]) +
         (p.value("consent_ref", "").empty() ? "" : " (consent " + Text(p["consent_ref"]) + ")") +
         "; collected " + Text(p["collected_at"]) + ". Retention: " +
         (rec["retention"]["until"].is_null() ? Text(rec["retention"]["rule"])
                                              : "until " + Text(rec["retention"]["until"])) +
         ".</p>\n<table>" + Row({"Field", "Value", "Given to"}, "th");
    for (const auto& f : rec["fields"]) {
      h += Row({Text(f["field"]), Text(f["value"]), Text(f["recipients"])});
    }
    h += "</table>\n";
  }

  h += "<h2>To whom we gave it</h2>\n<table>" +
       Row({"Recipient", "Fields", "Purposes", "Basis", "First", "Last", "Times"}, "th");
  for (const auto& x : r["recipients"]) {
    h += Row({Text(x["recipient"]), Text(x["fields"]), Text(x["purposes"]), Text(x["bases"]),
              Text(x["first_at"]), Text(x["last_at"]), Text(x["times"])});
  }
  h += "</table>\n<h2>Every request to disclose it, also the refused ones</h2>\n<table>" +
       Row({"When", "Recipient", "Purpose", "Fields", "Via", "Decision"}, "th");
  for (const auto& d : r["disclosures"]) {
    h += Row({Text(d["at"]), Text(d["recipient"]), Text(d["purpose"]), Text(d["fields"]),
              Text(d["via"]),
              d.value("allowed", false) ? "given (" + Text(d["basis"]) + ")"
                                        : "refused: " + Text(d["reason"])});
  }
  h += "</table>\n<h2>Your consents</h2>\n<table>" +
       Row({"Consent", "Purposes", "Recipients", "Given", "Proof", "Withdrawn"}, "th");
  for (const auto& c : r["consents"]) {
    h += Row({Text(c["id"]), Text(c["purposes"]), Text(c["recipients"]), Text(c["given_at"]),
              Text(c["proof"]["text_version"]) + " via " + Text(c["proof"]["channel"]),
              Text(c["withdrawn_at"])});
  }
  h += "</table>\n<h2>Addresses we gave each recipient</h2>\n<table>" +
       Row({"Recipient", "Address", "Issued"}, "th");
  for (const auto& a : r["aliases"]) {
    h += Row({Text(a["recipient"]), Text(a["alias"]), Text(a["issued_at"])});
  }
  h += "</table>\n<h2>Leaks we found</h2>\n<table>" +
       Row({"Found", "Given to", "Mail came from", "Finding"}, "th");
  for (const auto& l : r["leaks"]) {
    h += Row(
        {Text(l["found_at"]), Text(l["recipient"]), Text(l["sender_domain"]), Text(l["finding"])});
  }
  h += "</table>\n<h2>Your service cases</h2>\n<table>" +
       Row({"Case", "Opened", "Type", "Team", "State", "Title"}, "th");
  for (const auto& c : r.value("cases", Json::array())) {
    h += Row({Text(c["id"]), Text(c["opened_at"]), Text(c["type"]), Text(c["team"]),
              Text(c["state"]), Text(c["title"])});
  }
  h += "</table>\n<h2>Processes you are in</h2>\n<table>" +
       Row({"Process", "Reference", "Started", "Status"}, "th");
  for (const auto& j : r.value("journeys", Json::array())) {
    std::string status = j.value("status", "");
    if (!j.value("end_state", "").empty()) status += ": " + j.value("end_state", "");
    h += Row({Text(j["journey"]), Text(j["key"]), Text(j["started_at"]), Text(Json(status))});
  }
  h += "</table>\n<h2>Your preferences</h2>\n<table>" + Row({"Preference", "Value", "Set"}, "th");
  // items() refers to its object: keep the object alive for the whole loop.
  const Json preferences = r.value("preferences", Json::object());
  for (const auto& [name, p] : preferences.items()) {
    h += Row({Text(Json(name)), Text(p["value"]), Text(p["set_at"])});
  }
  h += "</table>\n<p>Events about you on record: " + std::to_string(r["events"].size()) +
       ".</p>\n</body></html>\n";
  return h;
}

}  // namespace rapport::privacy
