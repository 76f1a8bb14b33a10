#include "ingest/ingest.h"

#include <xxhash.h>

#include "core/csv.h"
#include "core/json.h"

namespace rapport::ingest {

std::string ContentEventId(const Event& e) {
  std::string buf;
  auto add = [&buf](std::string_view s) {
    buf += std::to_string(s.size());
    buf += ':';
    buf += s;
  };
  add(e.type);
  add(e.subject);
  for (const auto& [k, v] : e.keys) {
    add(k);
    add(v);
  }
  add(std::to_string(ToMicros(e.occurred_at)));
  add(e.payload.dump());
  XXH128_hash_t h = XXH3_128bits(buf.data(), buf.size());
  return "evt_" + Hex64(h.high64) + Hex64(h.low64);
}

namespace {

// Visits each item of a body: a JSON object (one item), a JSON array, or NDJSON lines.
// `where` names the item for error messages ("line 3", "[2]", "").
Status ForEachItem(std::string_view body, BodyFormat format,
                   const std::function<Status(const Json&, const std::string&)>& fn) {
  if (format == BodyFormat::kNdjson) {
    ASSIGN_OR_RETURN(auto lines, ParseNdjson(body));
    if (lines.empty()) return InvalidArgument("the body holds no lines", "body");
    for (const auto& l : lines) RETURN_IF_ERROR(fn(l.value, "line " + std::to_string(l.line)));
    return OkStatus();
  }
  ASSIGN_OR_RETURN(Json doc, ParseJson(body));
  if (doc.is_array()) {
    if (doc.empty()) return InvalidArgument("the array is empty", "body");
    for (size_t i = 0; i < doc.size(); ++i)
      RETURN_IF_ERROR(fn(doc[i], "[" + std::to_string(i) + "]"));
    return OkStatus();
  }
  return fn(doc, "");
}

}  // namespace

Result<std::vector<Event>> ParseEvents(std::string_view body, BodyFormat format, Time now) {
  std::vector<Event> out;
  RETURN_IF_ERROR(ForEachItem(body, format, [&](const Json& j, const std::string& where) {
    ASSIGN_OR_RETURN(Event e, EventFromJson(j, now, where));
    if (e.id.empty()) e.id = ContentEventId(e);
    out.push_back(std::move(e));
    return OkStatus();
  }));
  return out;
}

Result<std::vector<SourceRecord>> ParseRecords(std::string_view body, BodyFormat format, Time now,
                                               IdSource& ids) {
  std::vector<SourceRecord> out;
  RETURN_IF_ERROR(ForEachItem(body, format, [&](const Json& j, const std::string& where) {
    ASSIGN_OR_RETURN(SourceRecord r, RecordFromJson(j, now, where));
    r.id = ids.Next("rec");
    out.push_back(std::move(r));
    return OkStatus();
  }));
  return out;
}

Ingestor::Ingestor(store::Store& store, const Clock& clock, IdSource& ids, MetricsRegistry& metrics)
    : store_(store),
      clock_(clock),
      ids_(ids),
      events_created_(metrics.GetCounter("rapport_events_ingested_total",
                                         "Events accepted, by outcome", R"(outcome="created")")),
      events_duplicate_(metrics.GetCounter("rapport_events_ingested_total",
                                           "Events accepted, by outcome",
                                           R"(outcome="duplicate")")),
      records_created_(metrics.GetCounter("rapport_records_ingested_total",
                                          "Source records accepted, by outcome",
                                          R"(outcome="created")")),
      records_duplicate_(metrics.GetCounter("rapport_records_ingested_total",
                                            "Source records accepted, by outcome",
                                            R"(outcome="duplicate")")),
      event_commit_([this](const std::vector<Event>& e) { return store_.AppendEvents(e); },
                    kGroupCommitItems),
      record_commit_([this](const std::vector<SourceRecord>& r) { return WriteRecords(r); },
                     kGroupCommitItems) {}

Result<EventsAccepted> Ingestor::AcceptEvents(const std::vector<Event>& events) {
  EventsAccepted out;
  ASSIGN_OR_RETURN(out.results, event_commit_.Submit(events));
  for (const auto& r : out.results) (r.created ? out.created : out.duplicates)++;
  events_created_.Add(out.created);
  events_duplicate_.Add(out.duplicates);
  return out;
}

Result<RecordsAccepted> Ingestor::AcceptRecords(const std::vector<SourceRecord>& records) {
  ASSIGN_OR_RETURN(std::vector<RecordOutcome> outcomes, record_commit_.Submit(records));
  RecordsAccepted out;
  out.results.reserve(outcomes.size());
  out.persons.reserve(outcomes.size());
  for (auto& o : outcomes) {
    (o.put.created ? out.created : out.duplicates)++;
    out.results.push_back(std::move(o.put));
    out.persons.push_back(std::move(o.person));
  }
  records_created_.Add(out.created);
  records_duplicate_.Add(out.duplicates);
  return out;
}

Result<std::vector<Ingestor::RecordOutcome>> Ingestor::WriteRecords(
    const std::vector<SourceRecord>& records) {
  ASSIGN_OR_RETURN(std::vector<store::RecordPut> puts, store_.PutRecords(records));
  std::vector<std::string> persons(puts.size());
  if (records_listener_) {
    ASSIGN_OR_RETURN(persons, records_listener_(records, puts));
    if (persons.size() != puts.size()) {
      return Internal("the records listener placed " + std::to_string(persons.size()) + " of " +
                      std::to_string(puts.size()) + " records");
    }
  }
  std::vector<RecordOutcome> out(puts.size());
  for (size_t i = 0; i < puts.size(); ++i) out[i] = {std::move(puts[i]), std::move(persons[i])};
  return out;
}

namespace {

// Collects parsed rows and stores them a batch at a time.
class BatchWriter {
 public:
  BatchWriter(Ingestor& ingestor, ImportSummary& summary, size_t batch_size)
      : ingestor_(ingestor), summary_(summary), batch_size_(batch_size == 0 ? 1000 : batch_size) {}

  Status Add(Event e) {
    events_.push_back(std::move(e));
    return events_.size() >= batch_size_ ? Flush() : OkStatus();
  }
  Status Add(SourceRecord r) {
    records_.push_back(std::move(r));
    return records_.size() >= batch_size_ ? Flush() : OkStatus();
  }
  Status Flush() {
    if (!events_.empty()) {
      ASSIGN_OR_RETURN(auto res, ingestor_.AcceptEvents(events_));
      summary_.stored += res.created;
      summary_.duplicates += res.duplicates;
      events_.clear();
    }
    if (!records_.empty()) {
      ASSIGN_OR_RETURN(auto res, ingestor_.AcceptRecords(records_));
      summary_.stored += res.created;
      summary_.duplicates += res.duplicates;
      records_.clear();
    }
    return OkStatus();
  }

 private:
  Ingestor& ingestor_;
  ImportSummary& summary_;
  size_t batch_size_;
  std::vector<Event> events_;
  std::vector<SourceRecord> records_;
};

std::string ColumnList(const std::vector<std::string>& header) {
  std::string s;
  for (const auto& h : header) s += (s.empty() ? "" : ", ") + h;
  return s;
}

}  // namespace

Result<ImportSummary> ImportCsv(Ingestor& ingestor, std::string bytes,
                                const ImportOptions& options) {
  ImportSummary summary;
  ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(std::move(bytes)));
  summary.notes = reader.notes();
  const auto& header = reader.header();
  BatchWriter writer(ingestor, summary, options.batch_size);
  Time now = ingestor.clock().Now();

  int key_col = -1, id_col = -1, type_col = -1, subject_col = -1, occurred_col = -1;
  if (options.kind == ImportKind::kRecords) {
    if (options.source.empty())
      return InvalidArgument("records need a source name (--source)", "source");
    if (!options.key_column.empty()) {
      key_col = reader.Column(options.key_column);
      if (key_col < 0) {
        return InvalidArgument(
            "key column '" + options.key_column + "' not found; columns are: " + ColumnList(header),
            "line 1");
      }
    } else {
      key_col = reader.Column("id");
      if (key_col < 0) key_col = reader.Column("rec_id");
      if (key_col < 0) key_col = 0;
    }
  } else {
    id_col = reader.Column("id");
    type_col = reader.Column("type");
    subject_col = reader.Column("subject");
    occurred_col = reader.Column("occurred_at");
    for (auto [col, name] : {std::pair{type_col, "type"}, std::pair{occurred_col, "occurred_at"}}) {
      if (col < 0) {
        return InvalidArgument(std::string("missing required column '") + name +
                                   "'; columns are: " + ColumnList(header),
                               "line 1");
      }
    }
  }

  CsvRow row;
  while (true) {
    auto more = reader.Next(&row);
    if (!more.ok()) {
      // An unterminated quote swallows the rest of the file: report it, keep what was stored.
      summary.rejected.push_back({std::stoi(more.status().where().substr(5)),
                                  more.status().message() + " (rest of file skipped)"});
      break;
    }
    if (!*more) break;
    ++summary.rows;
    if (row.fields.size() != header.size()) {
      summary.rejected.push_back({row.line, "expected " + std::to_string(header.size()) +
                                                " fields, found " +
                                                std::to_string(row.fields.size())});
      continue;
    }
    if (options.kind == ImportKind::kRecords) {
      SourceRecord r;
      r.source = options.source;
      r.source_key = row.fields[key_col];
      if (r.source_key.empty()) {
        summary.rejected.push_back({row.line, "empty key in column '" + header[key_col] + "'"});
        continue;
      }
      for (size_t i = 0; i < header.size(); ++i) {
        if (static_cast<int>(i) != key_col) r.fields.emplace_back(header[i], row.fields[i]);
      }
      r.received_at = now;
      r.id = ingestor.ids().Next("rec");
      RETURN_IF_ERROR(writer.Add(std::move(r)));
    } else {
      Json j = Json::object();
      Json keys = Json::object();
      Json payload = Json::object();
      for (size_t i = 0; i < header.size(); ++i) {
        const std::string& h = header[i];
        int col = static_cast<int>(i);
        if (col == id_col || col == type_col || col == subject_col || col == occurred_col) continue;
        if (h.rfind("keys.", 0) == 0) {
          keys[h.substr(5)] = row.fields[i];
        } else if (!row.fields[i].empty()) {
          payload[h] = row.fields[i];
        }
      }
      if (id_col >= 0 && !row.fields[id_col].empty()) j["id"] = row.fields[id_col];
      j["type"] = row.fields[type_col];
      if (subject_col >= 0) j["subject"] = row.fields[subject_col];
      j["occurred_at"] = row.fields[occurred_col];
      j["keys"] = std::move(keys);
      j["payload"] = std::move(payload);
      auto e = EventFromJson(j, now);
      if (!e.ok()) {
        summary.rejected.push_back(
            {row.line, e.status().message() + " (" + e.status().where() + ")"});
        continue;
      }
      if (e->id.empty()) e->id = ContentEventId(*e);
      RETURN_IF_ERROR(writer.Add(std::move(e).value()));
    }
    if (options.progress && summary.rows % 1024 == 0) {
      options.progress(reader.bytes_read(), reader.bytes_total());
    }
  }
  RETURN_IF_ERROR(writer.Flush());
  if (options.progress) options.progress(reader.bytes_total(), reader.bytes_total());
  return summary;
}

Result<ImportSummary> ImportNdjson(Ingestor& ingestor, std::string_view bytes,
                                   const ImportOptions& options) {
  ImportSummary summary;
  BatchWriter writer(ingestor, summary, options.batch_size);
  Time now = ingestor.clock().Now();
  size_t pos = 0;
  int line_no = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos) end = bytes.size();
    std::string_view line = bytes.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    ++summary.rows;
    auto j = ParseJson(line);
    if (!j.ok()) {
      summary.rejected.push_back({line_no, j.status().message() + " (" + j.status().where() + ")"});
      continue;
    }
    if (options.kind == ImportKind::kEvents) {
      auto e = EventFromJson(*j, now);
      if (!e.ok()) {
        summary.rejected.push_back(
            {line_no, e.status().message() + " (" + e.status().where() + ")"});
        continue;
      }
      if (e->id.empty()) e->id = ContentEventId(*e);
      RETURN_IF_ERROR(writer.Add(std::move(e).value()));
    } else {
      Json obj = *j;
      if (obj.is_object() && !obj.contains("source") && !options.source.empty()) {
        obj["source"] = options.source;
      }
      auto r = RecordFromJson(obj, now);
      if (!r.ok()) {
        summary.rejected.push_back(
            {line_no, r.status().message() + " (" + r.status().where() + ")"});
        continue;
      }
      r->id = ingestor.ids().Next("rec");
      RETURN_IF_ERROR(writer.Add(std::move(r).value()));
    }
    if (options.progress && summary.rows % 1024 == 0) options.progress(pos, bytes.size());
  }
  RETURN_IF_ERROR(writer.Flush());
  if (options.progress) options.progress(bytes.size(), bytes.size());
  return summary;
}

}  // namespace rapport::ingest
