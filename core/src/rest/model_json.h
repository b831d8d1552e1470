#pragma once
// JSON shapes of the sensiNact REST API (docs/rest-api.md) for model views and notifications,
// and the bridge between model values and the LDAP filter language. Pure functions, any thread.

#include <string>
#include <string_view>

#include "filter/filter.h"
#include "model/model.h"

namespace gatehouse::core::rest {

// {"provider","service","resource","timestamp","oldValue","newValue"} for DATA, with "type" and
// "event"/"key" members for the other kinds.
void appendNotificationJson(std::string& out, const model::Notification& n);

// {"name","timestamp","type","value"}: the GET_RESPONSE / SET_RESPONSE body.
void appendReadingJson(std::string& out, std::string_view name, const model::Value& value, std::int64_t timestamp);

// DESCRIBE_RESOURCE body with attributes (metadata) and accessMethods.
void appendDescribeResourceJson(std::string& out, const model::ResourceInfo& r);

// "RO" / "RW" as sensiNact lists them in DESCRIBE_SERVICE.
std::string_view rws(const model::ResourceInfo& r) noexcept;

filter::Scalar toScalar(const model::Value& v);
// Lookup for filters over one provider: "PROVIDER", "MODEL", "<service>.<resource>".
filter::Lookup providerLookup(const model::ProviderInfo& provider);

}  // namespace gatehouse::core::rest
