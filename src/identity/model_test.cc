#include "identity/model.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "identity/cluster.h"
#include "identity/generator.h"
#include "identity/match_index.h"
#include "identity/pipeline.h"

namespace rapport::identity {
namespace {

// S2 of shared/SCENARIOS.md, as a customer file would deliver it.
constexpr char kS2[] =
    "id,vorname,nachname,strasse,plz,ort\n"
    "1,Johann,Müller,Hauptstraße 5,80331,München\n"
    "2,J.,Mueller,Hauptstr. 5,80331,Muenchen\n"
    "3,Anna,Müller,Hauptstraße 5,80331,München\n"
    "4,Hans,Müller,Hauptstraße 7,80331,München\n"
    "5,Johanna,Müller,Jungfernstieg 1,20095,Hamburg\n";

LoadedRecords LoadS2() {
  auto r = LoadCsvText(kS2, MatchConfig{});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

TEST(ScenarioS2, TwoJohannRecordsAreOnePersonOthersSeparate) {
  LoadedRecords in = LoadS2();
  ASSERT_EQ(in.records.size(), 5u);
  auto result = Dedupe(in.records, in.config);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const auto& c = result->cluster;
  EXPECT_EQ(c[0], c[1]) << "Johann Müller and J. Mueller are one person";
  EXPECT_NE(c[0], c[2]) << "Anna is a separate person";
  EXPECT_NE(c[0], c[3]) << "Hans at number 7 is a neighbour";
  EXPECT_NE(c[0], c[4]) << "Johanna in Hamburg is someone else";
  EXPECT_NE(c[2], c[3]);
  const auto& h = result->household;
  EXPECT_EQ(h[0], h[2]) << "Johann and Anna share a household";
  EXPECT_EQ(h[0], h[1]);
  EXPECT_NE(h[0], h[3]) << "the neighbour is another household";
  EXPECT_NE(h[0], h[4]);
}

TEST(ScenarioS2, ExplanationNamesEveryFieldAndAddsUp) {
  LoadedRecords in = LoadS2();
  MatchModel model = MatchModel::Default(in.config);
  Explanation e = model.Explain(in.records[0], in.records[1]);
  ASSERT_EQ(e.fields.size(), in.config.comparisons.size());
  double sum = e.prior_weight;
  for (const auto& f : e.fields) sum += f.weight;
  EXPECT_NEAR(sum, e.total_weight, 1e-9);
  EXPECT_GT(e.probability, 0.99);
  EXPECT_EQ(e.fields[0].comparison, "given_name");
  EXPECT_EQ(e.fields[0].level, "initial");
  EXPECT_EQ(e.fields[1].level, "exact") << "Müller and Mueller fold to one form";
  std::string text = e.ToText();
  EXPECT_NE(text.find("surname"), std::string::npos);
  Json j = e.ToJson();
  EXPECT_EQ(j["fields"].size(), e.fields.size());
  EXPECT_DOUBLE_EQ(j["probability"].get<double>(), e.probability);
  // Anna: the shared surname and address are household evidence, not identity evidence.
  Explanation anna = model.Explain(in.records[0], in.records[2]);
  EXPECT_LT(anna.probability, 0.01);
  EXPECT_FALSE(anna.fields[1].note.empty());
}

TEST(Model, PlaceholdersAreMissingNotEvidence) {
  auto in = LoadCsvText(
      "id,first_name,last_name,birth_date,email\n"
      "a,Anna,unknown,1900-01-01,n/a\n"
      "b,Anna,n/a,1900-01-01,unknown\n",
      MatchConfig{});
  ASSERT_TRUE(in.ok());
  MatchModel model = MatchModel::Default(in->config);
  Explanation e = model.Explain(in->records[0], in->records[1]);
  for (const auto& f : e.fields) {
    if (f.comparison != "given_name") {
      EXPECT_EQ(f.level, "missing") << f.comparison;
    }
  }
}

TEST(Model, DeterministicRuleForcesMatch) {
  auto in = LoadCsvText(
      "id,first_name,last_name,birth_date,email\n"
      "a,Anna,Schmidt,1980-05-17,anna@example.de\n"
      "b,Annegret,Schmitt-Weber,17.05.1980,Anna+news@Example.de\n",
      MatchConfig{});
  ASSERT_TRUE(in.ok());
  Explanation e = MatchModel::Default(in->config).Explain(in->records[0], in->records[1]);
  EXPECT_EQ(e.rule, "email+birth_date");
  EXPECT_EQ(e.probability, 1.0);
}

TEST(Model, JsonRoundTripKeepsScores) {
  LoadedRecords in = LoadS2();
  MatchModel model = MatchModel::Default(in.config);
  auto back = MatchModel::FromJson(model.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (size_t i = 1; i < in.records.size(); ++i) {
    EXPECT_DOUBLE_EQ(back->Probability(in.records[0], in.records[i]),
                     model.Probability(in.records[0], in.records[i]));
  }
  EXPECT_FALSE(MatchModel::FromJson(Json::parse(R"({"version":2})")).ok());
  EXPECT_FALSE(MatchModel::FromJson(Json::parse(R"({"version":1,"config":{}})")).ok());
}

TEST(Clustering, ChainDoesNotGlueLargeGroups) {
  // Two groups of three linked internally; one strong bridge pair between them, all other
  // cross pairs clearly non-matches.
  std::vector<ScoredPair> pairs = {{0, 1, 0.99}, {1, 2, 0.99}, {0, 2, 0.99}, {3, 4, 0.99},
                                   {4, 5, 0.99}, {3, 5, 0.99}, {2, 3, 0.95}};
  ClusterStats stats;
  std::vector<ScoredPair> review;
  auto c = ClusterPairs(
      6, pairs,
      [](uint32_t, uint32_t) {
        return PairScore{0.01, false};
      },
      ClusterOptions{}, &stats, &review);
  EXPECT_EQ(c[0], c[2]);
  EXPECT_EQ(c[3], c[5]);
  EXPECT_NE(c[2], c[3]);
  EXPECT_EQ(stats.refused_weak, 1u);
  ASSERT_EQ(review.size(), 1u);
  EXPECT_EQ(review[0].a, 2u);
  // The same bridge between two groups whose cross pairs agree is merged.
  auto merged = ClusterPairs(
      6, pairs,
      [](uint32_t, uint32_t) {
        return PairScore{0.9, false};
      },
      ClusterOptions{}, nullptr);
  EXPECT_EQ(merged[0], merged[5]);
}

TEST(Clustering, OneConflictKeepsTwoGroupsApartHoweverStrongTheBridge) {
  // "J. Müller" (2) links strongly to Johann (0, 1) and to Jakob (3); Johann and Jakob have
  // different birth dates. J. joins the stronger side; the other merge is refused and reviewed.
  std::vector<ScoredPair> pairs = {{0, 1, 0.999}, {1, 2, 0.99}, {2, 3, 0.98}, {0, 2, 0.99}};
  ClusterStats stats;
  std::vector<ScoredPair> review;
  auto c = ClusterPairs(
      4, pairs,
      [](uint32_t x, uint32_t y) {
        bool jakob = x == 3 || y == 3;
        return PairScore{jakob ? 0.97 : 0.99, jakob};
      },
      ClusterOptions{}, &stats, &review);
  EXPECT_EQ(c[0], c[2]);
  EXPECT_NE(c[2], c[3]);
  EXPECT_EQ(stats.refused_conflict, 1u);
  ASSERT_EQ(review.size(), 1u);
  EXPECT_EQ(review[0].b, 3u);
}

TEST(MatchIndex, AddMatchRemove) {
  LoadedRecords in = LoadS2();
  auto index = MatchIndex::Create(MatchModel::Default(in.config));
  ASSERT_TRUE(index.ok());
  MatchIndex& idx = **index;
  for (size_t i = 1; i < in.records.size(); ++i) {
    ASSERT_TRUE(idx.Add(in.records[i].id, in.records[i]).ok());
  }
  EXPECT_EQ(idx.Add("2", in.records[1]).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(idx.size(), 4u);
  auto found = idx.Match(in.records[0]);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, "2");
  EXPECT_GT(found[0].probability, 0.99);
  EXPECT_EQ(found[0].explanation.fields.size(), in.config.comparisons.size());
  ASSERT_TRUE(idx.Remove("2").ok());
  EXPECT_EQ(idx.Remove("2").code(), StatusCode::kNotFound);
  EXPECT_TRUE(idx.Match(in.records[0]).empty());
  EXPECT_FALSE(idx.Contains("2"));
}

TEST(MatchIndex, SameProbabilityAsBatchModel) {
  LoadedRecords in = LoadS2();
  MatchModel model = MatchModel::Default(in.config);
  auto index = MatchIndex::Create(model);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE((*index)->Add("2", in.records[1]).ok());
  auto found = (*index)->Match(in.records[0], {.min_probability = 0.0});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_DOUBLE_EQ(found[0].probability, model.Probability(in.records[0], in.records[1]));
}

// A batch matched at once must give each record what Match gave it one by one, added in
// order: candidates among the stored and the earlier batch records, including where a block
// grows past max_block_size in the middle of the batch.
TEST(MatchIndex, MatchInOrderGivesWhatMatchAndAddGiveOneByOne) {
  std::ostringstream csv;
  GenerateCustomers({.records = 1200, .seed = 3}, csv);
  MatchConfig config;
  config.max_block_size = 2;
  auto in = LoadCsvText(csv.str(), config);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  const auto& records = in->records;
  ASSERT_EQ(records.size(), 1200u);
  const MatchOptions options{.min_probability = 0.2, .limit = 3, .explain = true};
  auto one_by_one = MatchIndex::Create(MatchModel::Default(in->config));
  auto batched = MatchIndex::Create(MatchModel::Default(in->config));
  ASSERT_TRUE(one_by_one.ok() && batched.ok());
  for (size_t i = 0; i < 600; ++i) {
    ASSERT_TRUE((*one_by_one)->Add(records[i].id, records[i]).ok());
    ASSERT_TRUE((*batched)->Add(records[i].id, records[i]).ok());
  }
  std::vector<NormalizedRecord> batch(records.begin() + 600, records.end());
  std::set<std::string> batch_ids;
  for (const auto& r : batch) batch_ids.insert(r.id);
  auto found = (*batched)->MatchInOrder(batch, options, 2);
  ASSERT_EQ(found.size(), batch.size());
  size_t with_candidates = 0, from_batch = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto expected = (*one_by_one)->Match(batch[i], options);
    ASSERT_TRUE((*one_by_one)->Add(batch[i].id, batch[i]).ok());
    ASSERT_EQ(found[i].size(), expected.size()) << "record " << batch[i].id;
    for (size_t c = 0; c < expected.size(); ++c) {
      EXPECT_EQ(found[i][c].id, expected[c].id) << "record " << batch[i].id;
      EXPECT_EQ(found[i][c].probability, expected[c].probability);
      EXPECT_EQ(found[i][c].explanation.ToJson(), expected[c].explanation.ToJson());
      from_batch += batch_ids.count(expected[c].id);
    }
    with_candidates += !expected.empty();
  }
  // The comparison covers all three cases: stored candidates, batch candidates, capped blocks.
  EXPECT_GT(with_candidates, 100u);
  EXPECT_GT(from_batch, 20u);
  EXPECT_EQ((*batched)->MatchInOrder({}, options, 2).size(), 0u);
}

// A refit in place fits the model TrainModel fits to the same records, leaves every stored
// record indexed as it was, and then scores as an index built with that model would.
TEST(MatchIndex, AFitInPlaceScoresAsAnIndexBuiltWithTheFittedModel) {
  std::ostringstream csv;
  GenerateCustomers({.records = 3000, .seed = 5}, csv);
  auto in = LoadCsvText(csv.str(), MatchConfig{});
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  const auto& records = in->records;
  auto refitted = MatchIndex::Create(MatchModel::Default(in->config));
  ASSERT_TRUE(refitted.ok());
  for (size_t i = 0; i < 2500; ++i) ASSERT_TRUE((*refitted)->Add(records[i].id, records[i]).ok());
  ASSERT_TRUE((*refitted)->Remove(records[7].id).ok());  // a removed slot is not fitted to
  std::vector<NormalizedRecord> batch(records.begin() + 2500, records.end());
  auto model = (*refitted)->Fit(batch, 2);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<NormalizedRecord> all;
  for (size_t i = 0; i < records.size(); ++i) {
    if (i != 7) all.push_back(records[i]);
  }
  auto expected = TrainModel(all, in->config, 2);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(model->ToJson(), expected->ToJson());
  ASSERT_TRUE((*refitted)->UseModel(*model).ok());
  EXPECT_EQ((*refitted)->size(), 2499u);
  auto fresh = MatchIndex::Create(*expected);
  ASSERT_TRUE(fresh.ok());
  for (size_t i = 0; i < 2500; ++i) {
    if (i != 7) ASSERT_TRUE((*fresh)->Add(records[i].id, records[i]).ok());
  }
  const MatchOptions options{.min_probability = 0.1, .limit = 5, .explain = false};
  size_t compared = 0;
  for (const auto& r : batch) {
    auto got = (*refitted)->Match(r, options), want = (*fresh)->Match(r, options);
    ASSERT_EQ(got.size(), want.size()) << r.id;
    for (size_t c = 0; c < got.size(); ++c) {
      EXPECT_EQ(got[c].id, want[c].id);
      EXPECT_EQ(got[c].probability, want[c].probability);
    }
    compared += got.size();
  }
  EXPECT_GT(compared, 100u);
  // Another index's blocking rules would need the records indexed anew.
  MatchConfig other = in->config;
  other.blocking = {{other.comparisons.front().name}};
  EXPECT_EQ((*refitted)->UseModel(MatchModel::Default(other)).code(), StatusCode::kInvalidArgument);
}

TEST(Config, YamlNamesColumnsAndRejectsUnknownKeys) {
  auto c = ParseConfigYaml(
      "id: kundennr\n"
      "threshold: 0.8\n"
      "comparisons:\n"
      "  - {name: given_name, column: vn}\n"
      "  - {name: surname, column: nn}\n"
      "  - {name: card, kind: id, column: karte}\n"
      "blocking:\n"
      "  - [surname.phonetic]\n"
      "  - card\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto resolved = ResolveConfig(*c, {"kundennr", "vn", "nn", "karte"});
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->comparisons.size(), 3u);
  EXPECT_EQ(resolved->blocking.size(), 2u);
  EXPECT_FALSE(ResolveConfig(*c, {"kundennr", "vn"}).ok());
  auto bad = ParseConfigYaml("treshold: 0.5\n");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(ParseConfigYaml("comparisons: [ {name: x").ok());
  EXPECT_FALSE(
      ParseConfigYaml("blocking: [[nosuch.key]]\n").ok() &&
      ResolveConfig(*ParseConfigYaml("blocking: [[nosuch.key]]\n"), {"id", "vorname"}).ok());
}

// Column names from the configuration end up in JSON answers and exports, which must be UTF-8.
TEST(Config, TextThatIsNotUtf8IsRefusedAtItsPosition) {
  auto bad = ParseConfigYaml(
      "comparisons:\n  - {name: stra\xDF"
      "e}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "line 2, column 16");
  EXPECT_NE(bad.status().message().find("not UTF-8"), std::string::npos);
}

// Headers as they come out of German shop and CRM exports, not as a generator writes them.
TEST(Config, HeadersAreFoundAsPeopleWriteThem) {
  auto columns = [](const std::vector<std::string>& header) {
    auto resolved = ResolveConfig(MatchConfig{}, header);
    std::map<std::string, std::string> out;  // comparison -> its columns
    if (!resolved.ok()) {
      out["error"] = resolved.status().message();
      return out;
    }
    out["id"] = resolved->id_column;
    for (const auto& spec : resolved->comparisons) {
      std::string joined;
      for (const auto& column : spec.columns) joined += (joined.empty() ? "" : "+") + column;
      out[spec.name] = joined;
    }
    return out;
  };
  auto crm = columns({"Anrede", "Vorname", "Name", "Straße", "Hausnr.", "PLZ", "Ort", "Geb.-Datum",
                      "E-Mail", "Tel.-Nr.", "Kunden-Nr."});
  EXPECT_EQ(crm["id"], "Kunden-Nr.");
  EXPECT_EQ(crm["given_name"], "Vorname");
  EXPECT_EQ(crm["surname"], "Name");  // beside Vorname, Name is the family name
  EXPECT_EQ(crm["address"], "Straße+Hausnr.");
  EXPECT_EQ(crm["postcode"], "PLZ");
  EXPECT_EQ(crm["city"], "Ort");
  EXPECT_EQ(crm["birth_date"], "Geb.-Datum");
  EXPECT_EQ(crm["email"], "E-Mail");
  EXPECT_EQ(crm["phone"], "Tel.-Nr.");

  auto shop = columns({"Kundennummer", "Name", "Straße und Hausnummer", "Postleitzahl", "Wohnort",
                       "Geboren am", "Mobil"});
  EXPECT_EQ(shop["id"], "Kundennummer");
  EXPECT_EQ(shop["given_name"], "Name");  // the whole name, split when a record is read
  EXPECT_EQ(shop["surname"], "Name");
  EXPECT_EQ(shop["address"], "Straße und Hausnummer");
  EXPECT_EQ(shop["birth_date"], "Geboren am");
  EXPECT_EQ(shop["phone"], "Mobil");

  auto english = columns({"Customer ID", "First Name", "Last Name", "Date of Birth", "EMail"});
  EXPECT_EQ(english["id"], "Customer ID");
  EXPECT_EQ(english["given_name"], "First Name");
  EXPECT_EQ(english["surname"], "Last Name");
  EXPECT_EQ(english["birth_date"], "Date of Birth");
  EXPECT_EQ(english["email"], "EMail");
}

TEST(BadInput, ErrorsAndCountedRejections) {
  EXPECT_FALSE(LoadCsvText("", MatchConfig{}).ok());
  EXPECT_FALSE(LoadCsvText("id,colour\n1,red\n", MatchConfig{}).ok()) << "nothing to compare";
  auto ragged = LoadCsvText("id,vorname,nachname\n1,Anna,Schmidt\n2,Bob\n3,A,B,C\n,X,Y\n1,Z,Z\n",
                            MatchConfig{});
  ASSERT_TRUE(ragged.ok());
  EXPECT_EQ(ragged->records.size(), 1u);
  EXPECT_EQ(ragged->rejected, 4u);
  EXPECT_EQ(ragged->rejections.size(), 4u);
  auto latin1 = LoadCsvText("id;vorname;nachname\n1;J\xFCrgen;M\xFCller\n", MatchConfig{});
  ASSERT_TRUE(latin1.ok());
  EXPECT_EQ(latin1->records[0].values[1].a, "mueller");
  auto header_only = LoadCsvText("id,vorname\n", MatchConfig{});
  ASSERT_TRUE(header_only.ok());
  auto empty_run = Dedupe(header_only->records, header_only->config);
  ASSERT_TRUE(empty_run.ok());
  EXPECT_TRUE(empty_run->cluster.empty());
}

TEST(Metrics, ClusterPairsCountedFromContingency) {
  // truth {0,1,2} {3}; predicted {0,1} {2,3}: tp 1, fp 1, fn 2.
  PairMetrics m = ClusterPairMetrics({0, 0, 1, 1}, {"a", "a", "a", "b"});
  EXPECT_EQ(m.true_positives, 1u);
  EXPECT_EQ(m.false_positives, 1u);
  EXPECT_EQ(m.false_negatives, 2u);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_NEAR(m.recall, 1.0 / 3, 1e-12);
  EXPECT_EQ(FebrlEntity("rec-12-dup-3"), "12");
  EXPECT_EQ(FebrlEntity("rec-12-org"), "12");
  EXPECT_EQ(FebrlEntity("x-1"), "x-1");
}

}  // namespace
}  // namespace rapport::identity
