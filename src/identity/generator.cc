// The classic generator of German customer data (GeneratorProfile::kClassic) and the entry
// point. Own integer-only random helpers (not std:: distributions) keep the output identical
// across standard libraries.

#include "identity/generator.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <string_view>
#include <unordered_set>

#include "identity/internal/generator_text.h"

namespace rapport::identity {

// In generator_german.cc.
void GenerateRealisticCustomers(const GeneratorOptions& options, std::ostream& out);

namespace {

using internal::Ascii;
using internal::Csv;
using internal::Rng;
using internal::Typo;

constexpr std::array<std::string_view, 40> kMale = {
    "Johann",  "Josef",   "Wilhelm",    "Heinrich", "Friedrich", "Michael",   "Thomas",
    "Andreas", "Stefan",  "Christian",  "Matthias", "Alexander", "Peter",     "Wolfgang",
    "Jürgen",  "Klaus",   "Günter",     "Bernhard", "Ulrich",    "Georg",     "Lukas",
    "Jonas",   "Felix",   "Maximilian", "Paul",     "Tobias",    "Sebastian", "Florian",
    "Markus",  "Daniel",  "Robert",     "Richard",  "Ludwig",    "Hermann",   "Walter",
    "Dieter",  "Rüdiger", "Björn",      "Sören",    "Jörg"};
constexpr std::array<std::string_view, 36> kFemale = {
    "Anna",      "Maria",   "Elisabeth", "Katharina", "Margarete", "Susanne",
    "Christina", "Barbara", "Franziska", "Johanna",   "Magdalena", "Sabine",
    "Petra",     "Monika",  "Ursula",    "Gabriele",  "Claudia",   "Andrea",
    "Julia",     "Laura",   "Lea",       "Sophie",    "Hannah",    "Lena",
    "Emma",      "Mia",     "Jana",      "Sarah",     "Nicole",    "Stefanie",
    "Birgit",    "Dörte",   "Jütta",     "Käthe",     "Helene",    "Cornelia"};
// Common surnames first (drawn more often), rare ones last.
constexpr std::array<std::string_view, 60> kSurnames = {
    "Müller",  "Schmidt",    "Schneider",  "Fischer",   "Weber",      "Meyer",      "Wagner",
    "Becker",  "Schulz",     "Hoffmann",   "Schäfer",   "Koch",       "Bauer",      "Richter",
    "Klein",   "Wolf",       "Schröder",   "Neumann",   "Schwarz",    "Zimmermann", "Braun",
    "Krüger",  "Hofmann",    "Hartmann",   "Lange",     "Schmitt",    "Werner",     "Schmitz",
    "Krause",  "Meier",      "Lehmann",    "Köhler",    "Jäger",      "Günther",    "Böhm",
    "Vogel",   "Möller",     "Groß",       "Weiß",      "Fuchs",      "Hübner",     "Jürgens",
    "Lößner",  "Zdziarski",  "Przybylski", "Kowalczyk", "Oberhäuser", "Tränkner",   "Wünsche",
    "Dörfler", "Ölschläger", "Rößler",     "Büttner",   "Nägele",     "Köster",     "Straßburger",
    "Kühn",    "Göbel",      "Brückner",   "Völker"};
constexpr std::array<std::string_view, 40> kStreets = {
    "Hauptstraße",        "Bahnhofstraße",   "Schulstraße",
    "Gartenstraße",       "Dorfstraße",      "Bergstraße",
    "Kirchstraße",        "Lindenstraße",    "Waldstraße",
    "Ringstraße",         "Goethestraße",    "Schillerstraße",
    "Mozartstraße",       "Friedhofstraße",  "Wiesenweg",
    "Birkenweg",          "Am Markt",        "Marktplatz",
    "Lindenallee",        "Rosenweg",        "Mühlenweg",
    "Feldstraße",         "Sonnenstraße",    "Uhlandstraße",
    "Beethovenstraße",    "Blumenstraße",    "Talstraße",
    "Parkstraße",         "Am Bach",         "Kastanienallee",
    "Jahnstraße",         "Gießener Straße", "Münchner Straße",
    "Königstraße",        "Frühlingsstraße", "Bürgermeister-Schmidt-Straße",
    "Äußere Weberstraße", "Schloßstraße",    "Fährstraße",
    "Tannenweg"};
struct City {
  std::string_view name;
  int postcode;  // first postcode; up to 40 more follow
};
constexpr std::array<City, 16> kCities = {{{"München", 80331},
                                           {"Hamburg", 20095},
                                           {"Berlin", 10115},
                                           {"Köln", 50667},
                                           {"Frankfurt am Main", 60311},
                                           {"Stuttgart", 70173},
                                           {"Düsseldorf", 40210},
                                           {"Leipzig", 4103},
                                           {"Nürnberg", 90402},
                                           {"Dresden", 1067},
                                           {"Hannover", 30159},
                                           {"Bremen", 28195},
                                           {"Würzburg", 97070},
                                           {"Göttingen", 37073},
                                           {"Lübeck", 23552},
                                           {"Saarbrücken", 66111}}};
constexpr std::array<std::string_view, 6> kMailDomains = {"web.de",    "gmx.de",    "t-online.de",
                                                          "gmail.com", "posteo.de", "outlook.de"};

struct Address {
  std::string street;
  int number = 1;
  std::string suffix;
  int postcode = 0;
  std::string city;
};

struct Person {
  std::string first, last, birth, email, phone;
  bool male = false;
  Address address;
  uint64_t id = 0, household = 0;
};

std::string NicknameOf(std::string_view first) {
  static constexpr std::pair<std::string_view, std::string_view> kNick[] = {
      {"Johann", "Hans"},     {"Josef", "Sepp"},      {"Wilhelm", "Willi"},
      {"Heinrich", "Heinz"},  {"Friedrich", "Fritz"}, {"Michael", "Michi"},
      {"Thomas", "Tom"},      {"Andreas", "Andi"},    {"Christian", "Chris"},
      {"Alexander", "Alex"},  {"Elisabeth", "Lisa"},  {"Katharina", "Kathrin"},
      {"Margarete", "Grete"}, {"Susanne", "Susi"},    {"Franziska", "Franzi"},
      {"Magdalena", "Lena"},  {"Barbara", "Babs"},    {"Gabriele", "Gabi"},
      {"Ursula", "Uschi"},    {"Georg", "Schorsch"},  {"Ulrich", "Uli"},
      {"Bernhard", "Bernd"},  {"Matthias", "Matze"},  {"Cornelia", "Conny"},
      {"Maximilian", "Max"},  {"Robert", "Bob"},      {"Ludwig", "Lutz"}};
  for (const auto& [full, nick] : kNick)
    if (full == first) return std::string(nick);
  return std::string(first);
}

std::string FormatDate(int y, int m, int d, int style) {
  char buf[32];
  if (style == 0)
    std::snprintf(buf, sizeof buf, "%02d.%02d.%04d", d, m, y);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

Address RandomAddress(Rng& rng) {
  const City& c = rng.Pick(kCities);
  Address a;
  a.city = std::string(c.name);
  a.postcode = c.postcode + static_cast<int>(rng.Below(40));
  a.street = std::string(rng.Pick(kStreets));
  a.number = 1 + static_cast<int>(rng.Below(120));
  if (rng.Chance(0.08)) a.suffix = std::string(1, static_cast<char>('a' + rng.Below(3)));
  return a;
}

std::string Phone(Rng& rng) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+4915%d%07d", static_cast<int>(1 + rng.Below(8)),
                static_cast<int>(rng.Below(10000000)));
  return buf;
}

std::string Email(Rng& rng, const std::string& first, const std::string& last) {
  std::string local = Ascii(first, false) + "." + Ascii(last, false);
  for (char& c : local) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (rng.Chance(0.5)) local += std::to_string(10 + rng.Below(90));
  return local + "@" + std::string(rng.Pick(kMailDomains));
}

Person NewPerson(Rng& rng, bool male, const std::string& last, int birth_year,
                 std::unordered_set<std::string>& used_emails) {
  Person p;
  p.male = male;
  p.first = std::string(male ? rng.Pick(kMale) : rng.Pick(kFemale));
  if (rng.Chance(0.08)) {  // a second given name
    p.first += " " + std::string(male ? rng.Pick(kMale) : rng.Pick(kFemale));
  }
  p.last = last;
  int m = 1 + static_cast<int>(rng.Below(12)), d = 1 + static_cast<int>(rng.Below(28));
  p.birth = FormatDate(birth_year, m, d, 1);
  if (rng.Chance(0.7)) p.email = Email(rng, p.first.substr(0, p.first.find(' ')), last);
  // An e-mail address belongs to one person: a taken one gets a distinguishing number.
  if (!p.email.empty()) {
    std::string base = p.email;
    for (int k = 2; !used_emails.insert(p.email).second; ++k) {
      p.email =
          base.substr(0, base.find('@')) + "_" + std::to_string(k) + base.substr(base.find('@'));
    }
  }
  if (rng.Chance(0.5)) p.phone = Phone(rng);
  return p;
}

std::string Surname(Rng& rng) {
  // Skewed like real German data: a few very common names, then a long tail (synthesized
  // from syllables, as the tail of real surnames is far larger than any list).
  double r = static_cast<double>(rng.Below(1000)) / 1000.0;
  if (r < 0.2) return std::string(kSurnames[rng.Below(10)]);
  if (r < 0.5) return std::string(kSurnames[rng.Below(kSurnames.size())]);
  static constexpr std::array<std::string_view, 24> kHead = {
      "Ber", "Hol", "Kirch", "Lin", "Mar", "Ost", "Rein", "Sie",  "Stein", "Tal",  "Wal", "Zim",
      "Bö",  "Grü", "Hä",    "Kö",  "Lü",  "Mö",  "Rö",   "Schü", "Brand", "Feld", "Hag", "Wend"};
  static constexpr std::array<std::string_view, 16> kMid = {
      "", "en", "ter", "ling", "ke", "mann", "ber", "horst",
      "", "el", "au",  "ing",  "ß",  "ck",   "s",   "d"};
  static constexpr std::array<std::string_view, 16> kTail = {
      "er",  "mann",  "hoff", "kamp",  "ski",   "berg", "bach", "feld",
      "ner", "hardt", "dorf", "meier", "huber", "lein", "rich", "wald"};
  return std::string(rng.Pick(kHead)) + std::string(rng.Pick(kMid)) + std::string(rng.Pick(kTail));
}

// A duplicate of `p` as another source system or a later order would deliver it.
Person Variant(Rng& rng, const Person& p, bool* moved) {
  Person v = p;
  std::string first = p.first.substr(0, p.first.find(' '));
  double r = static_cast<double>(rng.Below(1000)) / 1000.0;
  if (r < 0.15)
    v.first = NicknameOf(first);
  else if (r < 0.25)
    v.first = first.substr(0, 1) + ".";
  else if (r < 0.35)
    v.first = Typo(rng, p.first);
  else if (r < 0.45)
    v.first = Ascii(p.first, false);
  else if (r < 0.50)
    v.first = "";
  r = static_cast<double>(rng.Below(1000)) / 1000.0;
  if (r < 0.25)
    v.last = Ascii(p.last, false);
  else if (r < 0.35)
    v.last = Ascii(p.last, true);
  else if (r < 0.45)
    v.last = Typo(rng, p.last);
  else if (r < 0.48)
    v.last = "Dr. " + p.last;
  *moved = rng.Chance(0.12);
  if (*moved) {
    v.address = RandomAddress(rng);
  } else {
    r = static_cast<double>(rng.Below(1000)) / 1000.0;
    std::string& s = v.address.street;
    size_t pos = s.find("straße");
    if (r < 0.3 && pos != std::string::npos)
      s = s.substr(0, pos) + "str.";
    else if (r < 0.45)
      s = Ascii(s, false);
    else if (r < 0.52)
      s = Typo(rng, s);
    if (rng.Chance(0.2)) v.address.city = Ascii(v.address.city, false);
    if (rng.Chance(0.03)) v.address.postcode = 0;
  }
  r = static_cast<double>(rng.Below(1000)) / 1000.0;
  int y = 0, m = 0, d = 0;
  std::sscanf(p.birth.c_str(), "%d-%d-%d", &y, &m, &d);
  if (r < 0.15)
    v.birth = "";
  else if (r < 0.18)
    v.birth = "01.01.1900";
  else if (r < 0.21 && d <= 12)
    v.birth = FormatDate(y, d, m, 1);
  else if (r < 0.24)
    v.birth = FormatDate(y, m, d % 28 + 1, 1);
  else
    v.birth = FormatDate(y, m, d, static_cast<int>(rng.Below(2)));
  r = static_cast<double>(rng.Below(1000)) / 1000.0;
  if (!v.email.empty()) {
    size_t at = v.email.find('@');
    if (r < 0.2)
      v.email = "";
    else if (r < 0.3)
      v.email = v.email.substr(0, at) + "+shop" + v.email.substr(at);
    else if (r < 0.4)
      v.email[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(v.email[0])));
  }
  if (!v.phone.empty()) {
    r = static_cast<double>(rng.Below(1000)) / 1000.0;
    if (r < 0.3)
      v.phone = "0" + v.phone.substr(3, 4) + " " + v.phone.substr(7);
    else if (r < 0.45)
      v.phone = "";
    else if (r < 0.5)
      v.phone = "n/a";
  }
  return v;
}

void GenerateClassicCustomers(const GeneratorOptions& options, std::ostream& out) {
  Rng rng(options.seed);
  const auto& cols = GeneratedColumns();
  for (size_t i = 0; i < cols.size(); ++i) out << (i ? "," : "") << cols[i];
  out << "\n";
  size_t written = 0;
  uint64_t next_person = 0, next_household = 0;
  std::unordered_set<std::string> used_emails;
  std::vector<std::string> rows;
  auto emit = [&](const Person& p) {
    if (written >= options.records) return;
    char postcode[16] = "";
    if (p.address.postcode > 0)
      std::snprintf(postcode, sizeof postcode, "%05d", p.address.postcode);
    out << "c" << written + 1 << "," << Csv(p.first) << "," << Csv(p.last) << ","
        << Csv(p.address.street) << "," << p.address.number << p.address.suffix << "," << postcode
        << "," << Csv(p.address.city) << "," << p.birth << "," << Csv(p.email) << ","
        << Csv(p.phone) << ",p" << p.id << ",h" << p.household << "\n";
    ++written;
  };
  // Records of one household are written interleaved with their duplicates; order inside
  // the file is shuffled only by household, which is how batches from one shop look.
  while (written < options.records) {
    std::vector<Person> members;
    Address home = RandomAddress(rng);
    uint64_t household = next_household++;
    std::string last = Surname(rng);
    int base_year = 1935 + static_cast<int>(rng.Below(50));
    double kind = static_cast<double>(rng.Below(1000)) / 1000.0;
    bool male = rng.Chance(0.5);
    members.push_back(NewPerson(rng, male, last, base_year, used_emails));
    if (kind >= 0.4) {  // couple, maybe with children
      std::string partner_last = rng.Chance(0.8) ? last : Surname(rng);
      members.push_back(NewPerson(rng, !male, partner_last,
                                  base_year + static_cast<int>(rng.Below(7)) - 3, used_emails));
      if (kind >= 0.75) {
        int children = 1 + static_cast<int>(rng.Below(3));
        for (int c = 0; c < children; ++c) {
          members.push_back(NewPerson(
              rng, rng.Chance(0.5), last,
              std::min(2008, base_year + 22 + static_cast<int>(rng.Below(15))), used_emails));
        }
      }
    }
    // Distinct given names within a household, as families choose them.
    for (size_t i = 1; i < members.size(); ++i) {
      for (int attempt = 0; attempt < 20; ++attempt) {
        bool clash = false;
        for (size_t j = 0; j < i; ++j) {
          for (const std::string& a : {members[i].first.substr(0, members[i].first.find(' ')),
                                       members[i].first.substr(members[i].first.find(' ') + 1)}) {
            clash |= members[j].first.find(a) != std::string::npos;
          }
        }
        if (!clash) break;
        members[i].first = std::string(members[i].male ? rng.Pick(kMale) : rng.Pick(kFemale));
      }
    }
    for (auto& m : members) {
      m.address = home;
      m.id = next_person++;
      m.household = household;
    }
    // A neighbour with the same surname a few doors away (a different household).
    if (rng.Chance(0.05)) {
      Person n = NewPerson(rng, rng.Chance(0.5), last, 1940 + static_cast<int>(rng.Below(60)),
                           used_emails);
      n.address = home;
      n.address.number = home.number + 1 + static_cast<int>(rng.Below(6));
      n.address.suffix.clear();
      n.id = next_person++;
      n.household = next_household++;
      members.push_back(n);
    }
    for (const auto& m : members) {
      emit(m);
      double d = static_cast<double>(rng.Below(1000)) / 1000.0;
      int dups = d < 0.6 ? 0 : d < 0.85 ? 1 : d < 0.95 ? 2 : 3;
      for (int k = 0; k < dups; ++k) {
        bool moved = false;
        Person v = Variant(rng, m, &moved);
        // A moved duplicate with neither birth date, e-mail nor phone left is not
        // recognisable by anyone; keep its birth date then, as real re-registrations do.
        if (moved && v.email.empty() && (v.phone.empty() || v.phone == "n/a") &&
            (v.birth.empty() || v.birth == "01.01.1900")) {
          v.birth = m.birth;
        }
        emit(v);
      }
    }
  }
}

}  // namespace

const std::vector<std::string>& GeneratedColumns() {
  static const auto* kCols = new std::vector<std::string>{
      "id",  "vorname",      "nachname", "strasse", "hausnummer", "plz",
      "ort", "geburtsdatum", "email",    "telefon", "person_id",  "household_id"};
  return *kCols;
}

Result<GeneratorProfile> ParseGeneratorProfile(std::string_view name) {
  if (name == "realistic") return GeneratorProfile::kRealistic;
  if (name == "classic") return GeneratorProfile::kClassic;
  return InvalidArgument(
      "unknown generator profile '" + std::string(name) + "' (realistic or classic)", "profile");
}

void GenerateCustomers(const GeneratorOptions& options, std::ostream& out) {
  if (options.profile == GeneratorProfile::kClassic) {
    GenerateClassicCustomers(options, out);
  } else {
    GenerateRealisticCustomers(options, out);
  }
}

}  // namespace rapport::identity
