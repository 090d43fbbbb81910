#include "image/dockerfile.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using Strings = std::vector<std::string>;

std::string parseError(const std::string& text) {
  auto r = parseDockerfile(text);
  if (r.ok()) return "parsed without error";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  return r.error().message();
}

std::string expanded(const std::string& text, const std::map<std::string, std::string>& vars,
                     char escape = '\\') {
  auto r = expandVariables(text, vars, escape);
  return r.ok() ? *r : "error: " + r.error().message();
}

constexpr const char* kMultiStage = R"(# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
ARG ALPINE=3.19

# build stage
FROM --platform=linux/amd64 golang:${GO_VERSION}-alpine AS Build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN ["go", "build", "-o", "/out/app", "./cmd/app"]

from alpine:${ALPINE}
LABEL org.opencontainers.image.title="my app" version='1.0'
ENV APP_HOME=/app PATH="/app/bin:$PATH"
ENV GREETING hello there
RUN apk add --no-cache ca-certificates \
    && adduser -D app
COPY --from=build --chown=1:1 /out/app /app/bin/app
WORKDIR $APP_HOME
USER app
EXPOSE 8080/tcp
ENTRYPOINT ["/app/bin/app"]
CMD serve --port 8080
)";

TEST(Dockerfile, ParsesAMultiStageFile) {
  auto df = parseDockerfile(kMultiStage);
  ASSERT_TRUE(df.ok()) << df.error().message();

  ASSERT_EQ(df->global_args.size(), 2u);
  EXPECT_EQ(df->global_args[0].keyword, "ARG");
  EXPECT_EQ(df->global_args[0].line, 2);
  EXPECT_EQ(df->global_args[1].args, Strings{"ALPINE=3.19"});

  ASSERT_EQ(df->stages.size(), 2u);
  const Stage& build = df->stages[0];
  EXPECT_EQ(build.base, "golang:${GO_VERSION}-alpine");  // expanded by the builder
  EXPECT_EQ(build.name, "build");
  EXPECT_EQ(build.index, 0);
  EXPECT_EQ(build.line, 6);  // the builder's errors about the base name it
  ASSERT_EQ(build.instructions.size(), 5u);
  EXPECT_EQ(build.instructions[0].keyword, "WORKDIR");
  EXPECT_EQ(build.instructions[0].line, 7);
  EXPECT_EQ(build.instructions[1].args, (Strings{"go.mod", "go.sum", "./"}));
  EXPECT_FALSE(build.instructions[1].json_form);
  EXPECT_EQ(build.instructions[2].args, Strings{"go mod download"});
  EXPECT_FALSE(build.instructions[2].json_form);
  EXPECT_TRUE(build.instructions[4].json_form);
  EXPECT_EQ(build.instructions[4].args, (Strings{"go", "build", "-o", "/out/app", "./cmd/app"}));

  // FROM is expanded with the global ARG defaults only.
  std::map<std::string, std::string> globals;
  for (const Instruction& arg : df->global_args) {
    auto pairs = parseKeyValues(arg.args[0], false);
    ASSERT_TRUE(pairs.ok());
    for (auto& [k, v] : *pairs) globals[k] = v;
  }
  EXPECT_EQ(expanded(build.base, globals), "golang:1.22-alpine");
  EXPECT_EQ(expanded(df->stages[1].base, globals), "alpine:3.19");

  const Stage& final_stage = df->stages[1];
  EXPECT_EQ(final_stage.name, "");
  EXPECT_EQ(final_stage.index, 1);
  EXPECT_EQ(final_stage.line, 13);
  const auto& ins = final_stage.instructions;
  ASSERT_EQ(ins.size(), 10u);

  EXPECT_EQ(ins[0].keyword, "LABEL");
  EXPECT_EQ(*parseKeyValues(ins[0].args[0], false),
            (Pairs{{"org.opencontainers.image.title", "my app"}, {"version", "1.0"}}));

  EXPECT_EQ(ins[1].args, Strings{"APP_HOME=/app PATH=\"/app/bin:$PATH\""});
  auto env = expandVariables(ins[1].args[0], {{"PATH", "/usr/bin"}});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*parseKeyValues(*env, false),
            (Pairs{{"APP_HOME", "/app"}, {"PATH", "/app/bin:/usr/bin"}}));
  EXPECT_EQ(*parseKeyValues(ins[2].args[0], true), (Pairs{{"GREETING", "hello there"}}));

  EXPECT_EQ(ins[3].keyword, "RUN");
  EXPECT_EQ(ins[3].line, 17);
  EXPECT_EQ(ins[3].args, Strings{"apk add --no-cache ca-certificates     && adduser -D app"});
  EXPECT_EQ(ins[3].original, "RUN apk add --no-cache ca-certificates && adduser -D app");

  EXPECT_EQ(ins[4].keyword, "COPY");
  EXPECT_EQ(ins[4].line, 19);
  EXPECT_EQ(ins[4].flags,
            (std::map<std::string, std::string>{{"from", "build"}, {"chown", "1:1"}}));
  EXPECT_EQ(ins[4].args, (Strings{"/out/app", "/app/bin/app"}));

  EXPECT_EQ(ins[5].args, Strings{"$APP_HOME"});
  EXPECT_EQ(ins[6].args, Strings{"app"});
  EXPECT_EQ(ins[7].args, Strings{"8080/tcp"});
  EXPECT_TRUE(ins[8].json_form);
  EXPECT_EQ(ins[8].args, Strings{"/app/bin/app"});
  EXPECT_FALSE(ins[9].json_form);
  EXPECT_EQ(ins[9].args, Strings{"serve --port 8080"});
  EXPECT_EQ(ins[9].original, "CMD serve --port 8080");
}

TEST(Dockerfile, ContinuationsDropCommentsAndBlankLines) {
  auto df = parseDockerfile(
      "FROM alpine\n"
      "RUN echo a \\\n"
      "  # a comment inside the instruction \\\n"
      "  && echo b \\  \n"
      "\n"
      "  && echo c\n"
      "run [\"sh\", \"-c\", \\\n"
      "     \"echo d\"]\n");
  ASSERT_TRUE(df.ok()) << df.error().message();
  const auto& ins = df->stages[0].instructions;
  ASSERT_EQ(ins.size(), 2u);
  EXPECT_EQ(ins[0].line, 2);
  EXPECT_EQ(ins[0].args, Strings{"echo a   && echo b   && echo c"});
  EXPECT_EQ(ins[0].original, "RUN echo a && echo b && echo c");
  EXPECT_EQ(ins[1].keyword, "RUN");
  EXPECT_EQ(ins[1].line, 7);
  EXPECT_TRUE(ins[1].json_form);
  EXPECT_EQ(ins[1].args, (Strings{"sh", "-c", "echo d"}));
}

TEST(Dockerfile, BacktickEscapeKeepsWindowsPaths) {
  auto df = parseDockerfile(
      "# escape=`\n"
      "\n"
      "FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\n"
      "COPY testfile.txt c:\\\n"
      "ENV TOOLS=\"C:\\tools\\bin\" NAME=a` b\n"
      "RUN dir c:\\ `\n"
      "    && echo done\n");
  ASSERT_TRUE(df.ok()) << df.error().message();
  const auto& ins = df->stages[0].instructions;
  ASSERT_EQ(ins.size(), 3u);
  EXPECT_EQ(ins[0].args, (Strings{"testfile.txt", "c:\\"}));
  EXPECT_EQ(*parseKeyValues(ins[1].args[0], false, '`'),
            (Pairs{{"TOOLS", "C:\\tools\\bin"}, {"NAME", "a b"}}));
  EXPECT_EQ(ins[2].line, 6);
  EXPECT_EQ(ins[2].args, Strings{"dir c:\\     && echo done"});
  EXPECT_EQ(ins[2].original, "RUN dir c:\\ && echo done");
}

TEST(Dockerfile, DirectivesOnlyAtTheTop) {
  // After a comment, "# escape=`" is a comment: '\' still continues lines.
  auto df = parseDockerfile(
      "# a comment\n"
      "# escape=`\n"
      "FROM alpine\n"
      "RUN echo a \\\n"
      "  b\n");
  ASSERT_TRUE(df.ok()) << df.error().message();
  EXPECT_EQ(df->stages[0].instructions[0].args, Strings{"echo a   b"});

  EXPECT_EQ(parseError("# escape=\\\n# ESCAPE=`\nFROM alpine\n"),
            "Dockerfile:2: parser directive 'escape' given twice");
  EXPECT_EQ(parseError("# escape=x\nFROM alpine\n"),
            "Dockerfile:1: invalid escape character 'x' (use '\\' or '`')");
}

TEST(Dockerfile, FlagsExecFormsAndSpecialInstructions) {
  auto df = parseDockerfile(
      "FROM scratch\n"
      "RUN --mount=type=cache,target=/root/.cache --mount=type=tmpfs,target=/tmp "
      "--network=none make\n"
      "COPY --link [\"a b\", \"/dst/\"]\n"
      "ADD --link=false https://example.com/x.tgz /x\n"
      "VOLUME /var/log /var/db\n"
      "VOLUME [\"/data\"]\n"
      "CMD [\"not\", 1]\n"
      "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
      "HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/ || exit 1\n"
      "HEALTHCHECK CMD [\"/probe\", \"--ready\"]\n"
      "HEALTHCHECK NONE\n"
      "ONBUILD COPY --from=base . /app\n"
      "MAINTAINER someone@example.com\n"
      "stopsignal SIGTERM\n");
  ASSERT_TRUE(df.ok()) << df.error().message();
  const auto& ins = df->stages[0].instructions;
  ASSERT_EQ(ins.size(), 13u);
  EXPECT_EQ(ins[0].flags.at("mount"), "type=cache,target=/root/.cache\ntype=tmpfs,target=/tmp");
  EXPECT_EQ(ins[0].flags.at("network"), "none");
  EXPECT_EQ(ins[0].args, Strings{"make"});
  EXPECT_EQ(ins[1].flags.at("link"), "true");
  EXPECT_TRUE(ins[1].json_form);
  EXPECT_EQ(ins[1].args, (Strings{"a b", "/dst/"}));
  EXPECT_EQ(ins[2].flags.at("link"), "false");
  EXPECT_EQ(ins[3].args, (Strings{"/var/log", "/var/db"}));
  EXPECT_TRUE(ins[4].json_form);
  EXPECT_EQ(ins[4].args, Strings{"/data"});
  // Not an array of strings, so the shell form, as Docker does.
  EXPECT_FALSE(ins[5].json_form);
  EXPECT_EQ(ins[5].args, Strings{"[\"not\", 1]"});
  EXPECT_TRUE(ins[6].json_form);
  EXPECT_EQ(ins[6].args, (Strings{"/bin/bash", "-o", "pipefail", "-c"}));
  EXPECT_EQ(ins[7].flags,
            (std::map<std::string, std::string>{{"interval", "5s"}, {"retries", "3"}}));
  EXPECT_FALSE(ins[7].json_form);
  EXPECT_EQ(ins[7].args, (Strings{"CMD", "curl -f http://localhost/ || exit 1"}));
  EXPECT_TRUE(ins[8].json_form);
  EXPECT_EQ(ins[8].args, (Strings{"CMD", "/probe", "--ready"}));
  EXPECT_EQ(ins[9].args, Strings{"NONE"});
  EXPECT_EQ(ins[10].args, Strings{"COPY --from=base . /app"});
  EXPECT_EQ(ins[11].keyword, "MAINTAINER");
  EXPECT_EQ(ins[11].args, Strings{"someone@example.com"});
  EXPECT_EQ(ins[12].keyword, "STOPSIGNAL");
}

TEST(Dockerfile, ErrorsNameTheLine) {
  EXPECT_EQ(parseError("FROM alpine\n"
                       "RUN echo a \\\n"
                       "  # comment\n"
                       "  && echo b \\\n"
                       "\n"
                       "  && echo c\n"
                       "RUNN x\n"),
            "Dockerfile:7: unknown instruction 'RUNN'");
  EXPECT_EQ(parseError("# comment\nRUN echo hi\nFROM alpine\n"),
            "Dockerfile:2: the first instruction must be FROM (or ARG)");
  EXPECT_EQ(parseError("ARG A=1\n"), "Dockerfile: no FROM instruction");
  EXPECT_EQ(parseError("\n\nFROM\n"), "Dockerfile:3: FROM needs an image");
  EXPECT_EQ(parseError("FROM a AS\n"),
            "Dockerfile:1: FROM takes an image and an optional 'AS name'");
  EXPECT_EQ(parseError("FROM a AS x\nFROM b as X\n"), "Dockerfile:2: duplicate stage name 'x'");
  EXPECT_EQ(parseError("FROM alpine\nCOPY onlyone\n"),
            "Dockerfile:2: COPY needs at least a source and a destination");
  EXPECT_EQ(parseError("FROM alpine\nADD [\"one\"]\n"),
            "Dockerfile:2: ADD needs at least a source and a destination");
  EXPECT_EQ(parseError("FROM alpine\nSHELL /bin/bash -c\n"),
            "Dockerfile:2: SHELL needs a JSON array of strings, like [\"/bin/sh\", \"-c\"]");
  EXPECT_EQ(parseError("FROM alpine\nSHELL [\"/bin/sh\", \"-c\"\n"),
            "Dockerfile:2: SHELL needs a JSON array of strings, like [\"/bin/sh\", \"-c\"]");
  EXPECT_EQ(parseError("FROM alpine\n\nCOPY --frm=build a b\n"),
            "Dockerfile:3: unknown flag '--frm' for COPY");
  EXPECT_EQ(parseError("FROM alpine\nCMD --help\n"), "Dockerfile:2: unknown flag '--help' for CMD");
  EXPECT_EQ(parseError("FROM alpine\nCOPY --from=a --from=b x y\n"),
            "Dockerfile:2: flag '--from' given twice");
  EXPECT_EQ(parseError("FROM alpine\nCOPY --chown x y\n"),
            "Dockerfile:2: flag '--chown' needs a value (--chown=VALUE)");
  EXPECT_EQ(parseError("FROM alpine\nWORKDIR /a \\\n  /${HOME\n"),
            "Dockerfile:2: expand variables in '/a   /${HOME': unterminated '${'");
  EXPECT_EQ(parseError("FROM alpine\nENV A=\"x\n"),
            "Dockerfile:2: ENV: read key=value pairs from 'A=\"x': unterminated double quote");
  EXPECT_EQ(parseError("FROM alpine\nENV ONLYNAME\n"),
            "Dockerfile:2: ENV: read key=value pairs from 'ONLYNAME': 'ONLYNAME' has no value");
  EXPECT_EQ(parseError("FROM alpine\nONBUILD FROM x\n"),
            "Dockerfile:2: FROM is not allowed as an ONBUILD trigger");
  EXPECT_EQ(parseError("FROM alpine\nONBUILD RUNN x\n"),
            "Dockerfile:2: ONBUILD: unknown instruction 'RUNN'");
  EXPECT_EQ(parseError("FROM alpine\nHEALTHCHECK NONE now\n"),
            "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
  // RUN is the shell's business: an unbalanced ${ there is not ours to judge.
  EXPECT_TRUE(parseDockerfile("FROM alpine\nRUN echo ${x\n").ok());
}

TEST(ExpandVariables, SubstitutesLikeTheReference) {
  std::map<std::string, std::string> vars = {{"A", "x"}, {"B", "y"}, {"EMPTY", ""}};
  EXPECT_EQ(expanded("$A/${B}_z", vars), "x/y_z");
  EXPECT_EQ(expanded("${UNSET:-def} ${EMPTY:-def} ${EMPTY-def} ${A:-def}", vars), "def def  x");
  EXPECT_EQ(expanded("${A:+alt} ${UNSET:+alt} ${EMPTY:+alt} ${EMPTY+alt}", vars), "alt   alt");
  EXPECT_EQ(expanded("${UNSET:-${B}-$A}", vars), "y-x");
  EXPECT_EQ(expanded("\\$A \\${B}", vars), "$A ${B}");
  EXPECT_EQ(expanded("$UNKNOWN.end", vars), ".end");
  EXPECT_EQ(expanded("cost $5 and $ alone", vars), "cost $5 and $ alone");
  EXPECT_EQ(expanded("'$A' \"$A's\"", vars), "'$A' \"x's\"");
  EXPECT_EQ(expanded("a\\ b=\\\"$A\\\"", vars), "a\\ b=\\\"x\\\"");  // other escapes stay
  EXPECT_EQ(expanded("`$A C:\\$A", vars, '`'), "$A C:\\x");
  EXPECT_EQ(expanded("${A", vars), "error: expand variables in '${A': unterminated '${'");
  EXPECT_EQ(expanded("${A:-${B}", vars),
            "error: expand variables in '${A:-${B}': unterminated '${'");
  EXPECT_EQ(expanded("${}", vars), "error: expand variables in '${}': bad substitution '${}'");
  EXPECT_EQ(expanded("${A#x}", vars),
            "error: expand variables in '${A#x}': unsupported substitution '${A#x}' (use "
            "${NAME:-default} or ${NAME:+alternative})");
}

TEST(ParseKeyValues, QuotesEscapesAndTheLegacyForm) {
  EXPECT_EQ(
      *parseKeyValues("A=1 B=\"two words\" C='single $x \\n' D=esc\\ aped E=", false),
      (Pairs{
          {"A", "1"}, {"B", "two words"}, {"C", "single $x \\n"}, {"D", "esc aped"}, {"E", ""}}));
  EXPECT_EQ(*parseKeyValues("MSG=\"say \\\"hi\\\" \\$5 \\d\" URL=a=b", false),
            (Pairs{{"MSG", "say \"hi\" $5 \\d"}, {"URL", "a=b"}}));
  EXPECT_EQ(*parseKeyValues("  NAME  OTHER=2 ", false), (Pairs{{"NAME", ""}, {"OTHER", "2"}}));
  EXPECT_EQ(*parseKeyValues("KEY value with  spaces ", true),
            (Pairs{{"KEY", "value with  spaces"}}));
  EXPECT_EQ(*parseKeyValues("KEY \"quoted\" and\\ more", true),
            (Pairs{{"KEY", "quoted and more"}}));
  EXPECT_EQ(*parseKeyValues("", false), Pairs{});
  EXPECT_EQ(parseKeyValues("A='x", false).error().message(),
            "read key=value pairs from 'A='x': unterminated single quote");
  EXPECT_EQ(parseKeyValues("=x", false).error().message(),
            "read key=value pairs from '=x': missing name before '='");
  EXPECT_EQ(parseKeyValues("KEY", true).error().message(),
            "read key=value pairs from 'KEY': 'KEY' has no value");
}

}  // namespace
}  // namespace berth::image
