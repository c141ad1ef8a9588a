// asl-validator 4 ships JavaScript only; this is the part of its API the tests call.
declare module "asl-validator" {
  export default function validateAsl(
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): { isValid: boolean; errors: { message: string }[]; errorsText: (separator?: string) => string };
}
