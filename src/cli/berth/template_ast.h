#pragma once
// The tree a template parses into (template_parse.cc) and the evaluator walks
// (template_eval.cc). Internal to them.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/berth/template.h"

namespace berth::cli::tmpl {

struct Position {
  int line = 1;
  int column = 1;  // in characters, from 1
};

struct Pipeline;

// An argument, or the only word of a command that calls no function.
struct Operand {
  enum class Kind {
    kString,    // text
    kNumber,    // number
    kBool,      // boolean
    kDot,       // the dot, then `fields`
    kVariable,  // text ("$x", "$"), then `fields`
    kPipeline,  // ( pipeline )
  };
  Kind kind = Kind::kString;
  Position pos;
  std::string text;
  int64_t number = 0;
  bool boolean = false;
  std::vector<std::string> fields;  // .A.B read after the dot or the variable
  std::shared_ptr<const Pipeline> pipeline;
};

// One stage of a pipeline: a call of `function` with `args` (after a '|', the value piped
// in comes last), or when `function` is empty a single operand.
struct Command {
  Position pos;
  std::string function;
  std::vector<Operand> args;
};

struct Pipeline {
  Position pos;
  std::vector<std::string> declared;  // "$x" (or "$i", "$e" in a range) before :=
  std::vector<Command> commands;
};

struct Node {
  enum class Kind { kText, kAction, kIf, kRange, kWith };
  Kind kind = Kind::kText;
  Position pos;
  std::string text;                          // kText
  std::shared_ptr<const Pipeline> pipeline;  // the others
  std::vector<Node> body;                    // kIf, kRange, kWith
  std::vector<Node> otherwise;               // their {{ else }}; an {{ else if }} is one kIf
};

// The known name closest to `word` (at most a third of its letters off), or "".
std::string closestName(std::string_view word, const std::vector<std::string_view>& names);

// "template NAME:LINE:COL: message"; `code` is kInvalidArgument for what the template says
// and the source's own for data that could not be read.
Error templateError(const std::string& name, Position pos, const std::string& message,
                    ErrorCode code = ErrorCode::kInvalidArgument);

}  // namespace berth::cli::tmpl
