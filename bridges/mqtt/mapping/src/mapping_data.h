#pragma once
// The parsed mappings file, private to the mapping library: filled once by loadMappings()
// (mapping_file.cpp), then only read (mapping_set.cpp), from any thread.

#include <optional>
#include <string>
#include <vector>

#include "gatehouse/bridge/mqtt/mapping.h"

namespace gatehouse::bridge::mqtt {

using kit::Result;

struct ResourceRule {
  std::string name;                   // "" = the topic's {resource}
  std::string pointerText;            // as written ("" = the whole payload)
  std::vector<std::string> pointer;   // parsed tokens
  sdk::ValueType type = sdk::ValueType::Double;
  std::string unit;
};

struct MetadataRule {
  std::string key;
  bool fromPayload = false;           // value written as a JSON pointer
  std::vector<std::string> pointer;
  std::string literal;
};

struct TimestampRule {
  std::vector<std::string> pointer;
  TimestampFormat format = TimestampFormat::Seconds;
};

struct CommandRule {
  TopicTemplate topic;
  int qos = 1;
  std::string payload;
  CommandRoute::Response response = CommandRoute::Response::Mqtt5;
  std::optional<TopicTemplate> ackTopic;
  int timeoutMs = 5000;
};

struct ActionRule {
  std::string name;
  std::vector<sdk::ActionParam> params;
  sdk::ValueType resultType = sdk::ValueType::String;
  CommandRule command;
};

struct Mapping {
  std::string description;   // "mappings[i] TOPIC"
  TopicTemplate topic;
  int qos = 1;
  PayloadFormat format = PayloadFormat::Json;
  std::string provider;      // "" = the topic's {provider}
  std::string service;       // "" = the topic's {service}
  std::vector<ResourceRule> resources;
  std::optional<TimestampRule> timestamp;
  std::vector<MetadataRule> metadata;
  std::optional<CommandRule> command;   // single-resource mappings only
  std::vector<ActionRule> actions;
  // e2e: true: the whole payload, never parsed, is the value (type bytes) of the single resource,
  // marked with metadata e2e: true (README "End-to-end encrypted topics").
  bool e2e = false;
  int keyRequestTimeoutMs = 5000;   // e2e only: how long a relayed key request waits for the wrap
};

struct MappingSet::Data {
  std::vector<Mapping> mappings;
};

// Parses and validates the mappings file text (mapping_file.cpp).
Result<MappingSet> loadMappings(std::string_view yaml, const std::string& displayName);

}  // namespace gatehouse::bridge::mqtt
