import { describe, expect, it } from "vitest";
import { type CfnTemplate, definitionFromTemplate, placeholderArn } from "../../local/asl.ts";

const asl = {
  StartAt: "Invoke",
  States: {
    Invoke: { Type: "Task", Resource: "FUNCTION", Next: "Train" },
    Train: {
      Type: "Task",
      Resource: "arn:aws:states:::batch:submitJob.sync",
      Parameters: { JobQueue: "QUEUE", JobDefinition: "DEFINITION", JobName: "train" },
      End: true,
    },
  },
};

/** The definition as CDK writes it: a JSON string cut at each token, joined by Fn::Join. */
function joinedDefinition(): unknown {
  const [beforeFunction, afterFunction = ""] = JSON.stringify(asl).split("FUNCTION");
  const [beforeQueue, afterQueue = ""] = afterFunction.split("QUEUE");
  const [beforeDefinition, rest] = afterQueue.split("DEFINITION");
  return {
    "Fn::Join": [
      "",
      [
        beforeFunction,
        { "Fn::GetAtt": ["PrepareRun1A2B3C4D", "Arn"] },
        beforeQueue,
        { "Fn::GetAtt": ["JobQueue5E6F7A8B", "JobQueueArn"] },
        beforeDefinition,
        { Ref: "TrainingJob9C0D1E2F" },
        rest,
      ],
    ],
  };
}

const resources = {
  PrepareRun1A2B3C4D: { Type: "AWS::Lambda::Function" },
  JobQueue5E6F7A8B: { Type: "AWS::Batch::JobQueue" },
  TrainingJob9C0D1E2F: { Type: "AWS::Batch::JobDefinition" },
};

describe("definitionFromTemplate", () => {
  it("resolves the Fn::Join of a synthesized DefinitionString to ASL with placeholder ARNs naming each resource", () => {
    const template: CfnTemplate = {
      Resources: {
        ...resources,
        PipelineAB12CD34: {
          Type: "AWS::StepFunctions::StateMachine",
          Properties: { DefinitionString: joinedDefinition() },
        },
      },
    };

    const definition = definitionFromTemplate(template);

    expect(definition.States.Invoke?.Resource).toBe("arn:aws:lambda:local:000000000000:function:PrepareRun1A2B3C4D");
    expect(definition.States.Train?.Parameters).toEqual({
      JobQueue: "arn:aws:batch:local:000000000000:job-queue/JobQueue5E6F7A8B",
      JobDefinition: "arn:aws:batch:local:000000000000:job-definition/TrainingJob9C0D1E2F:1",
      JobName: "train",
    });
    expect(definition.StartAt).toBe("Invoke");
  });

  it("resolves pseudo parameters, and takes a definition that has no tokens as it is", () => {
    const withPartition = {
      "Fn::Join": [
        "",
        ['{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"', { Ref: "AWS::Partition" }, '","End":true}}}'],
      ],
    };
    expect(
      definitionFromTemplate({
        Resources: {
          Machine: { Type: "AWS::StepFunctions::StateMachine", Properties: { DefinitionString: withPartition } },
        },
      }).States.A?.Result,
    ).toBe("aws");
    expect(
      definitionFromTemplate({
        Resources: {
          Machine: { Type: "AWS::StepFunctions::StateMachine", Properties: { DefinitionString: JSON.stringify(asl) } },
        },
      }),
    ).toEqual(asl);
  });

  it("picks the state machine by logical id prefix and names the candidates when it cannot choose", () => {
    const machine = (start: string) => ({
      Type: "AWS::StepFunctions::StateMachine",
      Properties: { DefinitionString: JSON.stringify({ ...asl, StartAt: start }) },
    });
    const template: CfnTemplate = { Resources: { PipelineAB12: machine("Invoke"), OtherCD34: machine("Train") } };

    expect(definitionFromTemplate(template, "Other").StartAt).toBe("Train");
    expect(() => definitionFromTemplate(template)).toThrow(/found: PipelineAB12, OtherCD34/);
    expect(() => definitionFromTemplate({ Resources: resources })).toThrow(/found: none/);
  });

  it("says what it cannot resolve offline instead of producing a broken definition", () => {
    const machineWith = (properties: Record<string, unknown>): CfnTemplate => ({
      Resources: { ...resources, Machine: { Type: "AWS::StepFunctions::StateMachine", Properties: properties } },
    });

    expect(() => definitionFromTemplate(machineWith({ DefinitionS3Location: { Bucket: "b", Key: "k" } }))).toThrow(
      /DefinitionS3Location is not supported/,
    );
    expect(() =>
      definitionFromTemplate(
        machineWith({
          DefinitionString: {
            "Fn::Join": ["", ['{"x":"', { "Fn::GetAtt": ["JobQueue5E6F7A8B", "JobQueueName"] }, '"}']],
          },
        }),
      ),
    ).toThrow(/Fn::GetAtt JobQueue5E6F7A8B.JobQueueName cannot be resolved offline/);
    expect(() =>
      definitionFromTemplate(machineWith({ DefinitionString: { "Fn::Join": ["", [{ Ref: "Missing" }]] } })),
    ).toThrow(/Ref to unknown resource Missing/);
    expect(() =>
      definitionFromTemplate(
        machineWith({ DefinitionString: { "Fn::Join": ["", [{ "Fn::Sub": "arn:aws:sns:us-east-1:1:topic" }]] } }),
      ),
    ).toThrow(/cannot resolve .*Fn::Sub/);
    expect(() => definitionFromTemplate(machineWith({ DefinitionString: '{"Comment":"no states"}' }))).toThrow(
      /not an Amazon States Language object/,
    );
  });
});

describe("placeholderArn", () => {
  it("shapes each resource type's ARN the way its service does", () => {
    expect(placeholderArn("AWS::SNS::Topic", "Alerts")).toBe("arn:aws:sns:local:000000000000:Alerts");
    expect(placeholderArn("AWS::S3::Bucket", "Artifacts")).toBe("arn:aws:s3:::artifacts");
    expect(placeholderArn("AWS::SageMaker::Endpoint", "Serving")).toBe(
      "arn:aws:sagemaker:local:000000000000:endpoint/Serving",
    );
  });
});
