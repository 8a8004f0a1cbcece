"""The resource types a delete or a replacement would lose something with.

Data, an audit trail, the network the functions run in, or what clients hold (the API's URL and
key). A layer whose ``deletionProtection`` is on (prod) registers them protected
(``txn_infra.layer``): Pulumi fails any deployment that would delete one, a replacement or a
refactor that changes its URN included, until the key is turned off and the layer deployed
(docs/deploy.md, "Changes that replace"). ``txn_ops`` names them in a preview that would replace
or delete one, in any stack. No imports: the tooling reads it without loading the providers.
"""

PROTECTED_TYPES = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:kms/key:Key",
        "aws:dynamodb/table:Table",
        "aws:sqs/queue:Queue",
        "aws:sns/topic:Topic",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:apigateway/restApi:RestApi",
        "aws:apigateway/stage:Stage",
        "aws:apigateway/apiKey:ApiKey",
    }
)
