// The realistic generator (GeneratorProfile::kRealistic): a German company's customer base
// with the structure that makes identity resolution hard in practice. Names are drawn with
// their real skew (a few very common, a long tail), so namesakes occur as often as in real
// files; most customers live in one region, so postcodes and streets are shared by many;
// families share addresses, surnames, landlines and sometimes one e-mail address; and the
// records of one person differ the ways that different systems and years make them differ.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <unordered_set>
#include <vector>

#include "identity/generator.h"
#include "identity/internal/generator_text.h"

namespace rapport::identity {
namespace {

using internal::Ascii;
using internal::Csv;
using internal::Rng;
using internal::Typo;

// A list drawn with Zipf-like weights: item k (0-based) has weight 1 / (k + 1 + offset)^s.
class Skewed {
 public:
  Skewed(std::vector<std::string> items, double s, double offset = 1.0) : items_(std::move(items)) {
    double total = 0;
    for (size_t k = 0; k < items_.size(); ++k) {
      total += 1.0 / std::pow(static_cast<double>(k) + 1 + offset, s);
      cumulative_.push_back(total);
    }
    for (double& c : cumulative_) c /= total;
  }
  const std::string& Pick(Rng& rng) const {
    double r = Unit(rng);
    size_t k = std::upper_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin();
    return items_[std::min(k, items_.size() - 1)];
  }
  size_t size() const { return items_.size(); }

  static double Unit(Rng& rng) { return static_cast<double>(rng.g() >> 11) * 0x1.0p-53; }

 private:
  std::vector<std::string> items_;
  std::vector<double> cumulative_;
};

std::vector<std::string> Words(std::string_view list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find(' ', pos);
    if (end == std::string_view::npos) end = list.size();
    if (end > pos) out.emplace_back(list.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// First names by birth cohort (before 1950, 1950-69, 1970-89, from 1990), most common first,
// roughly in the order of the German first-name statistics of those years. '_' joins the
// parts of a double name ("Karl_Heinz" is written "Karl-Heinz" or "Karl Heinz").
constexpr std::string_view kMaleByCohort[4] = {
    "Hans Karl Heinz Günter Werner Gerhard Walter Helmut Horst Kurt Klaus Dieter Manfred Rolf "
    "Herbert Wolfgang Josef Friedrich Ernst Willi Hermann Heinrich Wilhelm Otto Paul Rudolf "
    "Alfred Erich Georg Fritz Bernhard Franz Johann Richard Karl_Heinz Erwin Alois Ludwig Max "
    "Adolf Emil Siegfried Rudi Konrad Eugen Anton Gustav Reinhold Egon Johannes",
    "Peter Michael Thomas Wolfgang Klaus Jürgen Uwe Bernd Dieter Manfred Andreas Frank Stefan "
    "Ralf Joachim Rainer Hans_Jürgen Karl_Heinz Norbert Gerd Detlef Harald Martin Matthias Jörg "
    "Holger Axel Dirk Ulrich Rolf Werner Reinhard Helmut Lothar Hartmut Volker Roland Christian "
    "Hans_Peter Gerhard Bernhard Günther Josef Heinz Wilfried Winfried Horst Rüdiger Udo Jochen "
    "Herbert Alfred Hubert Georg",
    "Christian Michael Stefan Thomas Andreas Markus Daniel Alexander Sebastian Jan Tobias Martin "
    "Florian Matthias Sven Dennis Tim Marco Oliver Patrick Dirk Jens Torsten Frank Björn Kai "
    "Mario Carsten Marcel Philipp Benjamin Simon David Timo Nils René Sascha Christoph Johannes "
    "Stephan Marc Steffen Thorsten Maik Ingo Lars Robert Fabian Jörg Heiko Michel Sören Mathias",
    "Lukas Jonas Leon Finn Felix Maximilian Niklas Luca Paul Tim Jan Julian Moritz Tom Noah Elias "
    "Ben Luis Philipp Fabian Jannik Marvin Kevin Dennis Nico Robin Justin Pascal Jonathan Erik "
    "Lennart Simon Max Alexander Tobias Louis Henry Emil Anton Jakob David Benedikt Johannes "
    "Lars Vincent Till Florian Daniel Dominik Konstantin"};
constexpr std::string_view kFemaleByCohort[4] = {
    "Ursula Helga Gisela Ingrid Renate Karin Ilse Gertrud Erika Hildegard Elisabeth Christa "
    "Margarete Irmgard Anneliese Edith Hannelore Marianne Brigitte Ingeborg Käthe Lieselotte "
    "Maria Anna Elfriede Waltraud Inge Rosemarie Gerda Hertha Charlotte Luise Johanna Martha "
    "Frieda Margot Lore Erna Helene Emma Else Irene Gudrun Sieglinde Katharina Edeltraud "
    "Rosa Franziska Theresia Anni",
    "Sabine Petra Monika Gabriele Andrea Susanne Birgit Claudia Martina Karin Ute Angelika Heike "
    "Barbara Christine Brigitte Elke Kerstin Anke Doris Silke Marion Cornelia Beate Bärbel "
    "Dagmar Regina Sigrid Jutta Gudrun Renate Manuela Iris Bettina Ulrike Astrid Margit Carola "
    "Gabi Ingrid Heidi Rita Elisabeth Annette Christa Anja Simone Maria Ursula Karola",
    "Nicole Stefanie Sandra Katrin Melanie Julia Christina Anja Tanja Nadine Sabrina Daniela "
    "Jennifer Katharina Sarah Kristina Jessica Simone Anna Claudia Jana Susanne Diana Yvonne "
    "Kathrin Maria Lisa Vanessa Miriam Svenja Ina Janina Nina Christiane Silke Annika Carina "
    "Franziska Verena Sonja Bianca Manuela Andrea Anne Judith Eva Kerstin Corinna Isabell",
    "Laura Lea Anna Lena Sarah Julia Hannah Lisa Sophie Marie Leonie Emily Mia Lara Johanna "
    "Celina Alina Michelle Jasmin Vanessa Katharina Luisa Emma Nele Clara Pia Jana Annika Paula "
    "Charlotte Amelie Ronja Carolin Franziska Lina Anna_Lena Marie_Sophie Lea_Sophie Jule Maja "
    "Zoe Nina Selina Melina Theresa Antonia Helena Greta Ida Frieda"};

// Given names of Germany's larger immigrant communities, by origin.
constexpr std::string_view kForeignMale =
    "Mehmet Mustafa Ahmet Ali Hasan Hüseyin Murat Emre Can Burak Piotr Krzysztof Tomasz Andrzej "
    "Paweł Marek Sergej Dmitri Wladimir Andrej Juri Waldemar Giuseppe Marco Antonio Luca "
    "Francesco Georgios Dimitrios Konstantinos Nikolaos Mohammed Ahmad Omar Youssef Ivan Milan "
    "Dragan Goran";
constexpr std::string_view kForeignFemale =
    "Ayşe Fatma Emine Zeynep Elif Merve Esra Hatice Katarzyna Magdalena Agnieszka Joanna "
    "Małgorzata Olga Natalia Tatjana Swetlana Irina Elena Giulia Francesca Chiara Eleni Katerina "
    "Fatima Aisha Mariam Layla Ana Jelena Marija Ivana";

// The most common German surnames in the order of their frequency; drawn with a Zipf
// weight, so Müller is about twice as common as Schneider, as in the telephone books.
constexpr std::string_view kCommonSurnames =
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann "
    "König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert "
    "Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke "
    "Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein "
    "Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler "
    "Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer";
constexpr std::string_view kForeignSurnames =
    "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç "
    "Aslan Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński "
    "Szymański Woźniak Iwanow Petrow Smirnow Kusnezow Rossi Russo Ferrari Esposito Bianchi "
    "Romano Colombo Papadopoulos Georgiou Nikolaidis Ahmed Hassan Ibrahim Mohamed Jovanović "
    "Petrović Nikolić Horvat Novak";
// Parts of the long tail of German surnames: places, trades and features with endings.
constexpr std::string_view kTailHeads =
    "Ober Unter Hinter Kirch Stein Berg Wald Feld Bach Brunn Lind Eich Birk Buch Tann Holz "
    "Mühl Schwarz Weiß Roth Grün Brand Hag Wend Rein Sieg Gott Har Her Wil Diet Eber Lud Ort "
    "Alt Neu Hoch Nieder Ost West Süd Nord Sand Kalk Moos Ried Bruck Horn Loh Hof Au Dorf "
    "Kamp Hövel Kott Kreuz Stock Strauch Klee Rosen Schön";
constexpr std::string_view kTailEnds =
    "er mann hofer meier huber bauer mayr müller berger bacher felder wald dorf hausen kamp "
    "brink horst mann ling inger ner ler weger eder rieder moser lechner leitner hammer schmid "
    "reiter ke ert holt rath bach born brock kötter haus meister gruber wieser thaler";

// Streets that exist in almost every German town, most common first.
constexpr std::string_view kStreets =
    "Hauptstraße Schulstraße Gartenstraße Bahnhofstraße Dorfstraße Bergstraße Birkenweg "
    "Lindenstraße Kirchstraße Waldstraße Ringstraße Schillerstraße Goethestraße Wiesenweg "
    "Amselweg Feldstraße Jahnstraße Am_Sportplatz Buchenweg Mühlenweg Rosenstraße Friedhofstraße "
    "Blumenstraße Eichendorffstraße Finkenweg Ahornweg Drosselweg Lessingstraße Mozartstraße "
    "Erlenweg Talstraße Tulpenweg Beethovenstraße Kastanienweg Meisenweg Uhlandstraße "
    "Kirchweg Im_Winkel Mittelstraße Parkstraße Am_Anger Sonnenstraße Eichenweg Industriestraße "
    "Fliederweg Friedrichstraße Tannenweg Wilhelmstraße Brunnenstraße Marktplatz Am_Bach "
    "Poststraße Kapellenstraße Rathausstraße Hohe_Straße Grabenstraße Neue_Straße "
    "Breslauer_Straße Königsberger_Straße Danziger_Straße Münchner_Straße Augsburger_Straße "
    "Friedrich-Ebert-Straße Konrad-Adenauer-Straße Am_Mühlbach Schloßstraße Steinweg "
    "Kiefernweg Lerchenweg Akazienweg Heideweg Raiffeisenstraße Bürgermeister-Schmid-Straße "
    "Wiesenstraße Bachstraße Weiherstraße Holunderweg Lärchenweg Fichtenstraße Hirtenweg "
    "Am_Hang Zur_Mühle Äußere_Laufer_Straße Fährstraße Karlstraße Ludwigstraße "
    "Maximilianstraße Bismarckstraße";

// Regions: a town with its surroundings. Postcodes of the region are consecutive from `base`.
struct Region {
  std::string_view towns;  // the first is the centre, where most customers live
  int base;
};
constexpr Region kRegions[] = {
    {"Augsburg Friedberg Königsbrunn Gersthofen Neusäß Stadtbergen Bobingen Mering Aichach "
     "Schwabmünchen Meitingen Diedorf",
     86150},
    {"Münster Greven Telgte Warendorf Emsdetten Steinfurt Senden Nottuln Havixbeck Everswinkel",
     48143},
    {"Göttingen Northeim Einbeck Duderstadt Hann._Münden Rosdorf Bovenden Gleichen Osterode",
     37073},
    {"Freiburg_im_Breisgau Emmendingen Waldkirch Breisach Denzlingen Gundelfingen Kirchzarten "
     "Bad_Krozingen Staufen",
     79098},
    {"Würzburg Kitzingen Ochsenfurt Veitshöchheim Höchberg Gerbrunn Randersacker Karlstadt "
     "Marktheidenfeld",
     97070},
};
// Elsewhere in Germany (the thin national spread of a regional customer base).
constexpr std::string_view kNationalCities =
    "Berlin Hamburg München Köln Frankfurt_am_Main Stuttgart Düsseldorf Leipzig Dortmund Essen "
    "Bremen Dresden Hannover Nürnberg Duisburg Bochum Wuppertal Bielefeld Bonn Mannheim "
    "Karlsruhe Wiesbaden Gelsenkirchen Aachen Mönchengladbach Braunschweig Kiel Chemnitz Halle "
    "Magdeburg Freiburg Krefeld Mainz Lübeck Erfurt Oberhausen Rostock Kassel Hagen Potsdam "
    "Saarbrücken Hamm Ludwigshafen Oldenburg Mülheim Osnabrück Leverkusen Darmstadt Heidelberg "
    "Solingen Regensburg Herne Paderborn Neuss Ingolstadt Offenbach Fürth Ulm Heilbronn "
    "Pforzheim Wolfsburg Bottrop Reutlingen Bremerhaven Koblenz Erlangen Trier Jena Siegen";

constexpr std::string_view kMailDomains[] = {"web.de",     "gmx.de",   "gmx.net",    "t-online.de",
                                             "gmail.com",  "yahoo.de", "outlook.de", "posteo.de",
                                             "freenet.de", "arcor.de", "hotmail.de", "icloud.com"};
// Share of each domain among German private addresses (web.de and GMX lead).
constexpr int kMailDomainWeights[] = {24, 18, 6, 12, 14, 5, 5, 2, 3, 3, 5, 3};

constexpr std::string_view kBirthPlaceholders[] = {"01.01.1900", "1900-01-01", "01.01.1901",
                                                   "1.1.1970",   "11.11.1911", "00.00.0000"};

// Nicknames and short forms people use for themselves, as a second system records them.
constexpr std::pair<std::string_view, std::string_view> kNicknames[] = {
    {"Johann", "Hans"},      {"Johannes", "Hannes"}, {"Josef", "Sepp"},
    {"Wilhelm", "Willi"},    {"Heinrich", "Heinz"},  {"Friedrich", "Fritz"},
    {"Michael", "Micha"},    {"Thomas", "Tom"},      {"Andreas", "Andi"},
    {"Christian", "Chris"},  {"Alexander", "Alex"},  {"Elisabeth", "Lisa"},
    {"Katharina", "Kathi"},  {"Margarete", "Grete"}, {"Susanne", "Susi"},
    {"Franziska", "Franzi"}, {"Magdalena", "Lena"},  {"Gabriele", "Gabi"},
    {"Ursula", "Uschi"},     {"Georg", "Schorsch"},  {"Ulrich", "Uli"},
    {"Bernhard", "Bernd"},   {"Matthias", "Matze"},  {"Cornelia", "Conny"},
    {"Maximilian", "Max"},   {"Robert", "Robby"},    {"Stefanie", "Steffi"},
    {"Daniel", "Dani"},      {"Benjamin", "Ben"},    {"Nikolaus", "Klaus"},
    {"Wolfgang", "Wolfi"},   {"Barbara", "Babsi"},   {"Christina", "Tina"},
    {"Sebastian", "Basti"},  {"Tobias", "Tobi"},     {"Florian", "Flo"},
    {"Dominik", "Dome"},     {"Patrick", "Paddy"},   {"Jennifer", "Jenny"},
    {"Rosemarie", "Rosi"},   {"Hannelore", "Hanne"}, {"Rudolf", "Rudi"},
    {"Gerhard", "Gerd"},     {"Dorothea", "Doris"},  {"Theresia", "Resi"},
    {"Mohammed", "Mohamed"}, {"Sergej", "Sergei"},   {"Alexandra", "Sandra"}};

// Phonetic spellings of one name that different clerks write.
constexpr std::pair<std::string_view, std::string_view> kSpellings[] = {
    {"Meier", "Meyer"},        {"Meyer", "Maier"},      {"Maier", "Mayer"},
    {"Mayer", "Meier"},        {"Schmidt", "Schmitt"},  {"Schmitt", "Schmidt"},
    {"Schmid", "Schmidt"},     {"Hofmann", "Hoffmann"}, {"Hoffmann", "Hofmann"},
    {"Schulz", "Schultz"},     {"Schulze", "Schultze"}, {"Krämer", "Kraemer"},
    {"Weiß", "Weiss"},         {"Groß", "Gross"},       {"Wolff", "Wolf"},
    {"Philipp", "Phillip"},    {"Matthias", "Mathias"}, {"Stephan", "Stefan"},
    {"Christoph", "Kristoph"}, {"Katrin", "Kathrin"},   {"Carolin", "Caroline"},
    {"Isabell", "Isabel"},     {"Claudia", "Klaudia"},  {"Jana", "Janna"},
    {"Sophie", "Sofie"},       {"Yvonne", "Ivonne"},    {"Carina", "Karina"},
    {"Günther", "Günter"},     {"Günter", "Günther"},   {"Walter", "Walther"}};

struct Address {
  std::string street;
  int number = 1;
  std::string suffix;
  int postcode = 0;
  std::string city;
};

struct Person {
  std::string first, last;
  int year = 0, month = 0, day = 0;
  bool male = false;
  std::string email, mobile, landline;
  Address address;
  uint64_t id = 0, household = 0;
};

std::string Spaced(std::string s) {
  for (char& c : s)
    if (c == '_') c = ' ';
  return s;
}

// The generator's state: lists, the region and the output rows.
class German {
 public:
  German(const GeneratorOptions& options)
      : o_(options),
        rng_(options.seed ^ 0x5eed'6e72'6d61'6e00ULL),
        common_surnames_(Words(kCommonSurnames), 1.0, 3.0),
        foreign_surnames_(Words(kForeignSurnames), 0.7),
        tail_heads_(Words(kTailHeads), 0.6),
        tail_ends_(Words(kTailEnds), 0.6),
        streets_(Words(kStreets), 0.8, 4.0),
        foreign_male_(Words(kForeignMale), 0.8),
        foreign_female_(Words(kForeignFemale), 0.8),
        national_(Words(kNationalCities), 1.0) {
    for (int c = 0; c < 4; ++c) {
      male_.emplace_back(Words(kMaleByCohort[c]), 1.1, 1.0);
      female_.emplace_back(Words(kFemaleByCohort[c]), 1.1, 1.0);
    }
    const Region& r = kRegions[rng_.Below(std::size(kRegions))];
    region_towns_ = Words(r.towns);
    region_base_ = r.base;
  }

  void Run(std::ostream& out) {
    while (rows_.size() < o_.records) AddHousehold();
    // Shuffled, as records of one person come from different systems and years; the tail
    // cut makes the last persons lose some of their records, never their truth.
    for (size_t i = rows_.size(); i > 1; --i) std::swap(rows_[i - 1], rows_[rng_.Below(i)]);
    rows_.resize(o_.records);
    const auto& cols = GeneratedColumns();
    for (size_t i = 0; i < cols.size(); ++i) out << (i ? "," : "") << cols[i];
    out << "\n";
    std::unordered_set<uint64_t> used;
    for (const std::string& row : rows_) {
      uint64_t id;
      do {
        id = 1000000 + rng_.Below(9000000 + 10 * o_.records);
      } while (!used.insert(id).second);
      out << "K" << id << "," << row << "\n";
    }
  }

 private:
  static int Cohort(int year) { return year < 1950 ? 0 : year < 1970 ? 1 : year < 1990 ? 2 : 3; }

  double Unit() { return Skewed::Unit(rng_); }

  std::string FirstName(bool male, int year) {
    if (Unit() < 0.14) return (male ? foreign_male_ : foreign_female_).Pick(rng_);
    std::string n = Spaced((male ? male_ : female_)[Cohort(year)].Pick(rng_));
    if (n.find(' ') != std::string::npos && Unit() < 0.6) {
      std::replace(n.begin(), n.end(), ' ', '-');
    }
    return n;
  }

  std::string Surname() {
    double r = Unit();
    if (r < 0.30) return common_surnames_.Pick(rng_);
    if (r < 0.42) return foreign_surnames_.Pick(rng_);
    // The long tail: compounds such as "Oberhuber", "Steinkamp", "Lindner".
    std::string head = tail_heads_.Pick(rng_), end = tail_ends_.Pick(rng_);
    if (!end.empty() && !head.empty() &&
        std::tolower(static_cast<unsigned char>(head.back())) ==
            static_cast<unsigned char>(end[0])) {
      end.erase(0, 1);
    }
    std::string s = head + end;
    if (Unit() < 0.03) s = (Unit() < 0.5 ? "von " : "von der ") + s;
    return s;
  }

  Address RandomAddress() {
    Address a;
    if (Unit() < o_.national_share) {
      a.city = Spaced(national_.Pick(rng_));
      a.postcode = 1000 + static_cast<int>(rng_.Below(98000));
    } else {
      // The centre has most postcodes; the towns around it one or two each.
      size_t pc = rng_.Below(std::max<size_t>(1, o_.region_postcodes));
      a.postcode = region_base_ + static_cast<int>(pc);
      size_t town = pc < o_.region_postcodes / 2 ? 0 : 1 + pc % (region_towns_.size() - 1);
      a.city = Spaced(region_towns_[town]);
    }
    // Each postcode has its own mix of streets: the postcode seeds the choice.
    a.street = Spaced(streets_.Pick(rng_));
    a.number = 1 + static_cast<int>(std::pow(Unit(), 1.6) * 140);
    if (Unit() < 0.07) a.suffix = std::string(1, static_cast<char>('a' + rng_.Below(3)));
    return a;
  }

  std::string Mobile() {
    char buf[32];
    static constexpr int kPrefixes[] = {151, 152, 157, 159, 160, 162, 170,  171,  172, 173,
                                        174, 175, 176, 177, 178, 179, 1511, 1520, 1573};
    std::snprintf(buf, sizeof buf, "+49%d%07d", kPrefixes[rng_.Below(std::size(kPrefixes))],
                  static_cast<int>(rng_.Below(10000000)));
    return buf;
  }

  std::string Landline(const Address& a) {
    char buf[32];
    // Area code loosely tied to the postcode region.
    std::snprintf(buf, sizeof buf, "+49%d%d", 200 + (a.postcode / 100) % 700,
                  static_cast<int>(100000 + rng_.Below(900000)));
    return buf;
  }

  std::string MailDomain() {
    int total = std::accumulate(std::begin(kMailDomainWeights), std::end(kMailDomainWeights), 0);
    int r = static_cast<int>(rng_.Below(total));
    for (size_t i = 0; i < std::size(kMailDomains); ++i) {
      r -= kMailDomainWeights[i];
      if (r < 0) return std::string(kMailDomains[i]);
    }
    return std::string(kMailDomains[0]);
  }

  static std::string MailLocal(std::string s) {
    s = Ascii(s, false);
    std::string out;
    for (char c : s) {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      } else if (c == ' ' || c == '-') {
        out.push_back('-');
      }
    }
    return out;
  }

  std::string PersonalEmail(const Person& p) {
    std::string first = MailLocal(p.first.substr(0, p.first.find_first_of(" -")));
    std::string last = MailLocal(p.last);
    double r = Unit();
    std::string local = r < 0.45   ? first + "." + last
                        : r < 0.6  ? first.substr(0, 1) + "." + last
                        : r < 0.75 ? first + last
                        : r < 0.85 ? last + "." + first
                                   : first + std::to_string(p.year % 100);
    if (Unit() < 0.35) local += std::to_string(1 + rng_.Below(99));
    std::string email = local + "@" + MailDomain();
    // An address belongs to one mailbox: a taken one gets a number, as providers insist.
    for (int k = 2; !emails_.insert(email).second; ++k) {
      email = local + std::to_string(k) + "@" + email.substr(email.find('@') + 1);
    }
    return email;
  }

  Person NewPerson(bool male, std::string last, int year) {
    Person p;
    p.male = male;
    p.year = std::clamp(year, 1925, 2007);
    p.month = 1 + static_cast<int>(rng_.Below(12));
    p.day = 1 + static_cast<int>(rng_.Below(28 + (p.month != 2 ? 2 : 0)));
    p.first = FirstName(male, p.year);
    p.last = std::move(last);
    p.id = next_person_++;
    if (Unit() < (p.year > 1990 ? 0.85 : p.year > 1960 ? 0.75 : 0.45)) p.email = PersonalEmail(p);
    if (Unit() < (p.year > 1950 ? 0.7 : 0.35)) p.mobile = Mobile();
    return p;
  }

  void AddHousehold() {
    uint64_t household = next_household_++;
    Address home = RandomAddress();
    std::string last = Surname();
    std::vector<Person> members;
    double kind = Unit();
    bool male = Unit() < 0.5;
    int year = 1935 + static_cast<int>(std::pow(Unit(), 0.9) * 70);
    members.push_back(NewPerson(male, last, year));
    if (kind >= 0.38 && year < 2000) {  // a couple
      std::string partner_last = last;
      double names = Unit();
      if (names < 0.18)
        partner_last = Surname();  // kept their own name
      else if (names < 0.23)
        partner_last = last + "-" + Surname();  // double name
      members.push_back(NewPerson(!male, partner_last, year + static_cast<int>(rng_.Below(9)) - 4));
      if (kind >= 0.68 && year < 1985) {  // with children
        int children = 1 + static_cast<int>(rng_.Below(3));
        int child_year = year + 22 + static_cast<int>(rng_.Below(14));
        for (int c = 0; c < children; ++c) {
          bool twin = c > 0 && Unit() < 0.04;
          if (!twin && c > 0) child_year += 1 + static_cast<int>(rng_.Below(5));
          Person child = NewPerson(Unit() < 0.5, last, child_year);
          if (twin) {
            child.year = members.back().year;
            child.month = members.back().month;
            child.day = members.back().day;
          }
          // A son named after his father ("Junior"), as families do.
          if (child.male && members[0].male && Unit() < 0.06) child.first = members[0].first;
          if (child.male && !members[0].male && members[1].male && Unit() < 0.06) {
            child.first = members[1].first;
          }
          members.push_back(std::move(child));
        }
      }
      if (kind >= 0.96) {  // a grandparent lives with them
        members.push_back(
            NewPerson(Unit() < 0.35, last, year - 25 - static_cast<int>(rng_.Below(8))));
      }
    }
    // Distinct first names within a family, except for juniors.
    for (size_t i = 1; i < members.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        bool junior = members[i].male && members[j].male && members[i].year - members[j].year > 15;
        if (members[i].first == members[j].first && !junior) {
          members[i].first = FirstName(members[i].male, members[i].year);
        }
      }
    }
    // Shared contact points: a family e-mail address and a landline.
    std::string family_email, landline;
    if (members.size() > 1 && Unit() < 0.12) {
      std::string l = MailLocal(last);
      family_email = (Unit() < 0.5 ? "familie." + l : l + "s") + "@" + MailDomain();
      for (int k = 2; !emails_.insert(family_email).second; ++k) {
        family_email = family_email.substr(0, family_email.find('@')) + std::to_string(k) +
                       family_email.substr(family_email.find('@'));
      }
    }
    if (Unit() < 0.35) landline = Landline(home);
    for (auto& m : members) {
      m.address = home;
      m.household = household;
      if (!family_email.empty() && m.year < 2000 && Unit() < 0.8) m.email = family_email;
      if (!landline.empty() && (m.mobile.empty() || Unit() < 0.3)) m.landline = landline;
    }
    for (const Person& m : members) {
      Emit(m, m, false);
      double d = Unit();
      int extra = 0;
      if (d < o_.duplicated_persons) {
        double e = Unit();
        extra = e < 0.6 ? 1 : e < 0.85 ? 2 : e < 0.95 ? 3 : 4;
      }
      Person current = m;
      for (int k = 0; k < extra; ++k) {
        // People move between their records; later records carry the new address.
        bool moved = Unit() < 0.12;
        if (moved) {
          current.address = Unit() < 0.7 ? RandomAddress() : NearbyAddress(current.address);
          current.household = next_household_++;  // a mover leaves the household
          if (!current.landline.empty())
            current.landline = Unit() < 0.5 ? Landline(current.address) : "";
        }
        if (Unit() < 0.08) current.email = Unit() < 0.5 ? PersonalEmail(current) : "";
        if (Unit() < 0.05) current.mobile = Mobile();
        // A woman's name after marriage.
        if (!current.male && current.year > 1960 && Unit() < 0.03) {
          current.last = Unit() < 0.3 ? current.last + "-" + Surname() : Surname();
        }
        Emit(current, m, moved);
      }
    }
  }

  Address NearbyAddress(const Address& a) {
    Address n = a;
    n.street = Spaced(streets_.Pick(rng_));
    n.number = 1 + static_cast<int>(rng_.Below(90));
    n.suffix.clear();
    return n;
  }

  std::string FormatBirth(const Person& p) {
    char buf[32];
    double r = Unit();
    if (r < 0.55) {
      std::snprintf(buf, sizeof buf, "%02d.%02d.%04d", p.day, p.month, p.year);
    } else if (r < 0.85) {
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", p.year, p.month, p.day);
    } else if (r < 0.95) {
      std::snprintf(buf, sizeof buf, "%d.%d.%04d", p.day, p.month, p.year);
    } else {
      std::snprintf(buf, sizeof buf, "%02d.%02d.%02d", p.day, p.month, p.year % 100);
    }
    return buf;
  }

  // One record of `p` (its current state) as some system writes it. `original` is the person
  // as first recorded; `moved` says whether this record carries a new address.
  void Emit(const Person& p, const Person& original, bool moved) {
    const bool duplicate = &p != &original;
    std::string first = p.first, last = p.last;
    if (duplicate) VaryName(&first, &last);
    Address a = p.address;
    std::string street = a.street, number = std::to_string(a.number) + a.suffix;
    std::string city = a.city, postcode;
    char pc[16];
    std::snprintf(pc, sizeof pc, "%05d", a.postcode);
    postcode = pc;
    if (duplicate) VaryAddress(&street, &number, &city, &postcode);
    std::string birth;
    double r = Unit();
    if (r < o_.missing_birth_dates) {
      birth = "";
    } else if (r < o_.missing_birth_dates + o_.placeholder_birth_dates) {
      birth = std::string(kBirthPlaceholders[rng_.Below(std::size(kBirthPlaceholders))]);
    } else {
      Person d = p;
      double e = Unit();
      if (duplicate && e < 0.025 && d.day <= 12) {
        std::swap(d.day, d.month);  // day and month swapped
      } else if (duplicate && e < 0.05) {
        d.day = d.day % 28 + 1;  // one digit wrong
      } else if (duplicate && e < 0.06) {
        d.year += Unit() < 0.5 ? 1 : -1;
      }
      birth = FormatBirth(d);
    }
    std::string email = p.email, phone = !p.mobile.empty() && (p.landline.empty() || Unit() < 0.6)
                                             ? p.mobile
                                             : p.landline;
    if (duplicate) {
      if (Unit() < 0.25) email.clear();
      if (!email.empty() && Unit() < 0.05) {
        email.insert(email.find('@'), "+shop");
      } else if (!email.empty() && Unit() < 0.06) {
        email[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(email[0])));
      }
      if (Unit() < 0.3) phone.clear();
    } else if (Unit() < 0.1) {
      email.clear();
    }
    phone = FormatPhone(phone);
    // A moved record that keeps nothing personal cannot be recognised by anyone: real
    // re-registrations keep at least the birth date then.
    if (moved && email.empty() && phone.empty() &&
        (birth.empty() || birth[0] == '0' || birth == "1.1.1970" || birth == "11.11.1911")) {
      birth = FormatBirth(p);
    }
    std::string row = Csv(first) + "," + Csv(last) + "," + Csv(street) + "," + Csv(number) + "," +
                      postcode + "," + Csv(city) + "," + birth + "," + Csv(email) + "," +
                      Csv(phone) + ",p" + std::to_string(original.id) + ",h" +
                      std::to_string(p.household);
    rows_.push_back(std::move(row));
  }

  void VaryName(std::string* first, std::string* last) {
    double r = Unit();
    std::string given = *first;
    std::string head = given.substr(0, given.find_first_of(" -"));
    if (r < 0.10) {
      for (const auto& [full, nick] : kNicknames)
        if (full == head) *first = std::string(nick);
    } else if (r < 0.16) {
      *first = head.substr(0, 1) + ".";
    } else if (r < 0.24) {
      *first = Typo(rng_, given);
    } else if (r < 0.32) {
      *first = Ascii(given, Unit() < 0.3);
    } else if (r < 0.35) {
      *first = "";
    } else if (r < 0.38 && given != head) {
      *first = head;  // the first of two given names only
    } else if (r < 0.41) {
      for (const auto& [a, b] : kSpellings)
        if (a == head) *first = std::string(b) + given.substr(head.size());
    }
    r = Unit();
    if (r < 0.18) {
      *last = Ascii(*last, false);
    } else if (r < 0.24) {
      *last = Ascii(*last, true);
    } else if (r < 0.30) {
      *last = Typo(rng_, *last);
    } else if (r < 0.34) {
      for (const auto& [a, b] : kSpellings)
        if (a == *last) *last = std::string(b);
    } else if (r < 0.36) {
      *last = "Dr. " + *last;
    } else if (r < 0.38 && last->rfind("von ", 0) == 0) {
      *last = last->substr(last->find(' ', 4) == std::string::npos ? 4 : last->rfind(' ') + 1);
    }
    if (Unit() < 0.04) {  // written in capitals by a call centre
      *first = Upper(*first);
      *last = Upper(*last);
    }
    r = Unit();
    if (r < 0.03) {
      std::swap(*first, *last);  // entered into the wrong fields
    } else if (r < 0.05 && !first->empty()) {
      *first = *last + ", " + *first;  // "Müller, Johann" in one field
      *last = "";
    }
  }

  static std::string Upper(const std::string& s) {
    std::string out = s;
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }

  void VaryAddress(std::string* street, std::string* number, std::string* city,
                   std::string* postcode) {
    double r = Unit();
    size_t pos = street->find("straße");
    if (r < 0.3 && pos != std::string::npos) {
      *street = street->substr(0, pos) + (Unit() < 0.7 ? "str." : "str");
    } else if (r < 0.4 && pos != std::string::npos) {
      *street = street->substr(0, pos) + "strasse";
    } else if (r < 0.5) {
      *street = Ascii(*street, false);
    } else if (r < 0.55) {
      *street = Typo(rng_, *street);
    }
    if (Unit() < 0.1) {  // the house number in the street field
      *street += " " + *number;
      *number = "";
    }
    if (Unit() < 0.15) *city = Ascii(*city, Unit() < 0.3);
    r = Unit();
    if (r < 0.01) {
      (*postcode)[3 + rng_.Below(2)] = static_cast<char>('0' + rng_.Below(10));
    } else if (r < 0.03) {
      *postcode = "";
    }
  }

  std::string FormatPhone(const std::string& e164) {
    if (e164.empty()) return e164;
    double r = Unit();
    std::string national = "0" + e164.substr(3);
    if (r < 0.35) return e164;
    if (r < 0.6) return national.substr(0, 4) + " " + national.substr(4);
    if (r < 0.75) return national.substr(0, 4) + "/" + national.substr(4);
    if (r < 0.85) return "+49 " + e164.substr(3, 3) + " " + e164.substr(6);
    if (r < 0.92) return "0049" + e164.substr(3);
    return national;
  }

  const GeneratorOptions o_;
  Rng rng_;
  std::vector<Skewed> male_, female_;
  Skewed common_surnames_, foreign_surnames_, tail_heads_, tail_ends_, streets_, foreign_male_,
      foreign_female_, national_;
  std::vector<std::string> region_towns_;
  int region_base_ = 0;
  std::unordered_set<std::string> emails_;
  std::vector<std::string> rows_;
  uint64_t next_person_ = 0, next_household_ = 0;
};

}  // namespace

void GenerateRealisticCustomers(const GeneratorOptions& options, std::ostream& out) {
  German(options).Run(out);
}

}  // namespace rapport::identity
