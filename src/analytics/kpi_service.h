// Reads the facts of kpis.h out of a running Rapport and computes the report. It reads, never
// writes: the event log, the journey timelines ("journey-timeline") and the delivered actions
// ("outbox"), case documents ("case") and timelines ("case-timeline"), preference
// annotations ("case-annotation"), the disclosure register ("privacy-disclosure"), leak
// findings ("privacy-leak"), the audit log (access reports and erasures), service records
// ("svc-record"), the profiles (counts, household mailing lists) and the parts forecast's
// evaluation on the repairs of the period. The layouts are those each module's header
// documents.
//
// Event subjects name a person by id ("per_…") or by a source key ("shop:C-1001", resolved
// through the record stored under that key).
//
// Thread-safety: Compute may be called from many threads; each call reads on its own.
#pragma once

#include "analytics/kpis.h"
#include "cases/config.h"
#include "privacy/audit.h"
#include "profiles/profiles.h"
#include "service/service.h"
#include "store/store.h"

namespace rapport::analytics {

class KpiService {
 public:
  // `feedback`: the cases configuration's rules, so that a rating counts here exactly when
  // it opens a case there (the payload keys it is read from, its scale).
  KpiService(store::Store& store, profiles::ProfileService& profiles,
             service::ServiceNetwork& service, privacy::AuditLog& audit,
             cases::FeedbackRules feedback);

  // Errors: ValidateRequest's, or the store's.
  Result<KpiReport> Compute(const KpiRequest& request);

 private:
  store::Store& store_;
  profiles::ProfileService& profiles_;
  service::ServiceNetwork& service_;
  privacy::AuditLog& audit_;
  cases::FeedbackRules feedback_;
};

}  // namespace rapport::analytics
